#include "logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace ktstats::relay {

Status setup_logging(LogTarget target, logger::Level level) {
  if (target == LogTarget::kKmsg) {
    // Open for the process's life: the log is written until exit.
    const int fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Transport{"open /dev/kmsg", errno};
    logger::configure(level, logger::Sink::kKmsg, fd);
  } else {
    logger::configure(level, logger::Sink::kStderr, STDERR_FILENO);
  }
  return Ok{};
}

}  // namespace ktstats::relay
