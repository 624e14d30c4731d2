#include "serve/runtime_dir.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ktstats/terminal_text.hpp"

namespace ktstats::serve {
namespace {

constexpr const char* kSocketName = "stats";
constexpr mode_t kDirMode = 0750;
constexpr mode_t kSocketMode = 0660;

Error refused(const std::string& path, const std::string& why, int error) {
  return Transport{escape_for_terminal(path, 300) + " " + why, error};
}

// Sets the mode and group of a directory we made or own, through its fd.
Status own_directory(int fd, const std::string& path, gid_t group) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return Transport{"fstat " + path, errno};
  if (status.st_uid != ::geteuid()) {
    return refused(path, "belongs to another user; refusing to put sockets in it", EPERM);
  }
  if (::fchmod(fd, kDirMode) != 0) return Transport{"chmod " + path, errno};
  if (status.st_gid != group && ::fchown(fd, static_cast<uid_t>(-1), group) != 0) {
    return Transport{"chgrp " + path + " to group " + std::to_string(group), errno};
  }
  return Ok{};
}

// A directory as a descriptor, never through a symlink at its last component.
Result<UniqueFd> open_directory(int parent, const std::string& name, const std::string& path) {
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd) return fd;
  if (errno == ELOOP || errno == ENOTDIR) {
    return refused(path, "exists and is not a directory (a symlink or a file); refusing to use it",
                   EEXIST);
  }
  return Transport{"open " + path, errno};
}

// "/proc/self/fd/N/stats": binds and connects in the directory we hold
// open, whatever has become of its path since.
std::optional<sockaddr_un> address_in(int dir) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = "/proc/self/fd/" + std::to_string(dir) + "/" + kSocketName;
  if (path.size() >= sizeof address.sun_path) return std::nullopt;
  std::memcpy(address.sun_path, path.c_str(), path.size());
  return address;
}

// Whether something listens on the socket file: ECONNREFUSED means a
// stale socket, left by a process that ended without removing it. The
// connect does not block: a listener that accepts nothing with its backlog
// full (EAGAIN) listens all the same, and must not hang start-up or the loop.
bool someone_listens(const sockaddr_un& address) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe) return true;
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    return true;
  }
  return errno != ECONNREFUSED;
}

}  // namespace

Result<gid_t> socket_group(const std::optional<std::string>& name) {
  const std::string wanted = name.value_or("ktstats");
  errno = 0;
  if (const group* entry = ::getgrnam(wanted.c_str())) return entry->gr_gid;
  if (!name) return ::getegid();
  return Transport{"group '" + escape_for_terminal(wanted, 100) + "' does not exist", ENOENT};
}

Result<RuntimeDir> RuntimeDir::open(const std::string& path, gid_t group) {
  bool made = false;
  if (::mkdir(path.c_str(), kDirMode) == 0) {
    made = true;
  } else if (errno != EEXIST) {
    return Transport{"mkdir " + path, errno};
  }
  auto fd = open_directory(AT_FDCWD, path, path);
  if (!fd) return std::move(fd).error();
  struct stat status {};
  if (::fstat(fd->get(), &status) != 0) return Transport{"fstat " + path, errno};
  if (status.st_uid != ::geteuid() && status.st_uid != 0) {
    return refused(path, "belongs to another user; refusing to put sockets in it", EPERM);
  }
  // Anyone who may write in it could rename a VM's directory and put a
  // socket of their own in its place.
  if (!made && (status.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return refused(path, "is writable by its group or by every user; refusing to put sockets in it",
                   EPERM);
  }
  if (made) {
    if (auto owned = own_directory(fd->get(), path, group); !owned) return std::move(owned).error();
  }
  return RuntimeDir(std::move(*fd), path, group, made);
}

Result<VmSocket> RuntimeDir::listen_for(const std::string& vm_name) const {
  const std::string dir_path = path_ + "/" + vm_name;
  if (::mkdirat(fd_.get(), vm_name.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return Transport{"mkdir " + dir_path, errno};
  }
  auto dir = open_directory(fd_.get(), vm_name, dir_path);
  if (!dir) return std::move(dir).error();
  if (auto owned = own_directory(dir->get(), dir_path, group_); !owned) {
    return std::move(owned).error();
  }
  VmSocket socket;
  socket.path = dir_path + "/" + kSocketName;
  const auto address = address_in(dir->get());
  if (!address) return Transport{"socket path too long for " + socket.path, ENAMETOOLONG};

  struct stat status {};
  if (::fstatat(dir->get(), kSocketName, &status, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(status.st_mode)) {
      return refused(socket.path, "exists and is not a socket; refusing to replace it", EEXIST);
    }
    if (someone_listens(*address)) {
      return refused(socket.path, "is a socket another process listens on (another ktstats "
                                  "serve?); refusing to take it over",
                     EADDRINUSE);
    }
    if (::unlinkat(dir->get(), kSocketName, 0) != 0) {
      return Transport{"remove the stale socket " + socket.path, errno};
    }
  } else if (errno != ENOENT) {
    return Transport{"stat " + socket.path, errno};
  }

  socket.listener.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.listener) return Transport{"socket()", errno};
  // bind() makes the file with the umask's mode: 0660 from the start, not
  // chmod-ed after, so it is never open to others even for a moment.
  const mode_t old_umask = ::umask(0777 & ~kSocketMode);
  const int bound = ::bind(socket.listener.get(), reinterpret_cast<const sockaddr*>(&*address),
                           sizeof *address);
  const int bind_error = errno;
  ::umask(old_umask);
  if (bound != 0) return Transport{"bind " + socket.path, bind_error};
  if (::fstatat(dir->get(), kSocketName, &status, AT_SYMLINK_NOFOLLOW) != 0) {
    return Transport{"stat " + socket.path, errno};
  }
  socket.device = status.st_dev;
  socket.inode = status.st_ino;
  if (status.st_gid != group_ &&
      ::fchownat(dir->get(), kSocketName, static_cast<uid_t>(-1), group_, AT_SYMLINK_NOFOLLOW) != 0) {
    return Transport{"chgrp " + socket.path + " to group " + std::to_string(group_), errno};
  }
  if (::listen(socket.listener.get(), 128) != 0) return Transport{"listen " + socket.path, errno};
  socket.dir = std::move(*dir);
  return socket;
}

void RuntimeDir::remove(const std::string& vm_name, const VmSocket& socket) const {
  if (!socket.dir) return;
  struct stat status {};
  if (::fstatat(socket.dir.get(), kSocketName, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
      status.st_dev == socket.device && status.st_ino == socket.inode) {
    ::unlinkat(socket.dir.get(), kSocketName, 0);
  }
  ::unlinkat(fd_.get(), vm_name.c_str(), AT_REMOVEDIR);  // only when empty
}

void RuntimeDir::remove_if_made() const {
  if (made_) ::rmdir(path_.c_str());  // only when empty
}

}  // namespace ktstats::serve
