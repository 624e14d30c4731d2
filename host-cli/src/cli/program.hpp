#pragma once

#include "cli/invocation.hpp"

namespace ktstats::cli {

// What `serve` is in this executable. `ktstats` hands the command line to
// the daemon's own executable (serve_launcher.hpp), so that the one-shot
// commands do not load what only the daemon needs (TLS, YAML, HTTP);
// `ktstats-serve` runs the daemon.
using ServeEntry = int (*)(const Invocation& invocation, char** argv);

// The whole program: standard descriptors checked, the command line
// parsed, logging set up, the command run; returns the exit status.
int program_main(int argc, char** argv, ServeEntry serve);

}  // namespace ktstats::cli
