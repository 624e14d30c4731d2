#pragma once

#include "cli/invocation.hpp"
#include "client/interrupt.hpp"

namespace ktstats::cli {

// ktstats watch: a sample every interval on one session; returns the exit
// status.
int run_watch(const Invocation& invocation, const Interrupt& interrupt);

}  // namespace ktstats::cli
