#include "ktstats/tty.hpp"

#include <fcntl.h>
#include <termios.h>

#include <cerrno>

namespace ktstats {

Status make_raw(int fd, const std::string& path) {
  termios mode{};
  if (::tcgetattr(fd, &mode) != 0) return Transport{"tcgetattr on " + path, errno};
  ::cfmakeraw(&mode);
  mode.c_cc[VMIN] = 1;
  mode.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &mode) != 0) return Transport{"tcsetattr on " + path, errno};
  return Ok{};
}

Result<std::unique_ptr<Channel>> open_tty_channel(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Transport{"open " + path, errno};
  if (auto raw = make_raw(fd.get(), path); !raw) return std::move(raw).error();
  return std::unique_ptr<Channel>(std::make_unique<SingleFdChannel>(std::move(fd), "tty " + path));
}

}  // namespace ktstats
