#pragma once

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats {

// SIGINT and SIGTERM as a descriptor, readable once one arrives, for the
// program's waits to poll; SIGPIPE ignored, so a closed peer is an error
// value, not a death. Call before any thread starts: it blocks the signals.
Result<UniqueFd> stop_signal_fd();

}  // namespace ktstats
