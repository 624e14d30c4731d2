#include "client/interrupt.hpp"

#include "ktstats/stop_signals.hpp"

namespace ktstats::cli {

Result<Interrupt> Interrupt::install() {
  auto fd = stop_signal_fd();
  if (!fd) return std::move(fd).error();
  return Interrupt(std::move(*fd));
}

}  // namespace ktstats::cli
