#include "interrupt.hpp"

#include <poll.h>

#include "ktstats/stop_signals.hpp"

namespace ktstats::cli {

Result<Interrupt> Interrupt::install() {
  auto fd = stop_signal_fd();
  if (!fd) return std::move(fd).error();
  return Interrupt(std::move(*fd));
}

bool Interrupt::fired() const {
  pollfd pfd{fd_.get(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) > 0;
}

}  // namespace ktstats::cli
