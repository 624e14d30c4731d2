#include "io/port_channel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "ktstats/tty.hpp"
#include "ktstats/unix_socket.hpp"

namespace ktstats::relay {

Result<PortChannel> open_port_channel(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return Transport{"port " + path, errno};
  if (S_ISSOCK(info.st_mode)) {
    auto channel = open_unix_channel(path);
    if (!channel) return std::move(channel).error();
    return PortChannel{std::move(*channel), AfterEof::kReconnect};
  }
  if (!S_ISCHR(info.st_mode)) {
    return Transport{"port " + path + " is neither a character device nor a Unix socket"};
  }
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return Transport{"open port " + path, errno};
  if (::isatty(fd.get())) {
    if (auto raw = make_raw(fd.get(), path); !raw) return std::move(raw).error();
    return PortChannel{std::make_unique<SingleFdChannel>(std::move(fd), "tty " + path),
                       AfterEof::kPeerMayReturn};
  }
  // A virtio port reads EOF whenever no host is attached, and works again
  // as soon as one attaches.
  return PortChannel{std::make_unique<SingleFdChannel>(std::move(fd), "virtio port " + path),
                     AfterEof::kPeerMayReturn};
}

PortChannel adopt_port_fd(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return PortChannel{
      std::make_unique<SingleFdChannel>(UniqueFd(fd), "descriptor " + std::to_string(fd)),
      AfterEof::kFinished};
}

}  // namespace ktstats::relay
