#pragma once

#include "cli/invocation.hpp"
#include "client/interrupt.hpp"

namespace ktstats::cli {

// `ktstats vms` (and `ktstats serve --list`): the VMs a running serve
// serves and their state, asked over its control socket. Returns the exit
// status, after printing the list or one error line with a hint.
int run_vms(const Invocation& invocation, const Interrupt& interrupt);

}  // namespace ktstats::cli
