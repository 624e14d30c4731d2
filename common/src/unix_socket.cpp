#include "ktstats/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace ktstats {

Result<UniqueFd> connect_unix_socket(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return Transport{"socket path '" + path + "' is empty or longer than " +
                         std::to_string(sizeof address.sun_path - 1) + " bytes",
                     ENAMETOOLONG};
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Transport{"socket()", errno};
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Transport{"connect to " + path, errno};
  }
  return fd;
}

Result<std::unique_ptr<Channel>> open_unix_channel(const std::string& path) {
  auto fd = connect_unix_socket(path);
  if (!fd) return std::move(fd).error();
  return std::unique_ptr<Channel>(
      std::make_unique<SingleFdChannel>(std::move(*fd), "unix socket " + path));
}

}  // namespace ktstats
