#pragma once

#include "client/interrupt.hpp"
#include "cli/invocation.hpp"

namespace ktstats::cli {

// Runs the command; returns the exit status, after printing the result on
// stdout or one error line on stderr.
int run_command(const Invocation& invocation, const Interrupt& interrupt);

}  // namespace ktstats::cli
