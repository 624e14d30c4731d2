#pragma once

#include <spdlog/common.h>

#include "logging.hpp"
#include "relay.hpp"

namespace ktstats::relay {

struct CommandLine {
  RelayOptions relay;
  LogTarget log_target = LogTarget::kStderr;
  spdlog::level::level_enum log_level = spdlog::level::info;
};

// Parses argv. Exits the process for --help and --version (0) and for
// usage errors (64, with the reason on stderr).
CommandLine parse_command_line(int argc, char** argv);

}  // namespace ktstats::relay
