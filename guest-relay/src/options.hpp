#pragma once

#include "logging.hpp"
#include "relay.hpp"

namespace ktstats::relay {

struct CommandLine {
  RelayOptions relay;
  LogTarget log_target = LogTarget::kStderr;
  logger::Level log_level = logger::Level::kInfo;
};

// Parses argv. Exits the process for --help and --version (0) and for
// usage errors (64, with the reason on stderr).
CommandLine parse_command_line(int argc, char** argv);

}  // namespace ktstats::relay
