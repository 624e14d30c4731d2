#include "ktstats/stop_signals.hpp"

#include <sys/signalfd.h>

#include <cerrno>
#include <csignal>

namespace ktstats {

Result<UniqueFd> stop_signal_fd() {
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return Transport{"sigprocmask", errno};
  UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) return Transport{"signalfd", errno};
  return fd;
}

}  // namespace ktstats
