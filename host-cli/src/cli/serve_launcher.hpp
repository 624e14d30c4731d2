#pragma once

#include <optional>
#include <string>

#include "cli/invocation.hpp"

namespace ktstats::cli {

// Where the daemon's executable is, relative to the directory of the
// running ktstats: installed (libexec), else beside it (the build tree).
std::optional<std::string> find_serve_daemon();

// `ktstats serve ...`: replaces this process with ktstats-serve, given the
// same command line; returns only on failure, with the exit status, after
// saying what is missing.
int exec_serve_daemon(const Invocation& invocation, char** argv);

}  // namespace ktstats::cli
