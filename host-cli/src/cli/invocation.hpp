#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "client/endpoint.hpp"
#include "serve/serve_options.hpp"

namespace ktstats::cli {

enum class Command { kStats, kMeta, kRaw, kWatch, kPing, kServe, kVms };
enum class Format { kJson, kPretty, kTable, kOpenMetrics, kPrometheus };

// Everything the command line asked for.
struct Invocation {
  Command command = Command::kStats;
  Endpoint endpoint;
  Format format = Format::kJson;
  std::chrono::milliseconds timeout{5000};
  int verbosity = 0;  // -v 1, -vv 2
  bool quiet = false;
  bool sync = true;
  std::map<std::string, std::string> args;  // stats and watch
  std::string raw_line;                     // raw
  bool describe = false;                    // meta
  std::chrono::milliseconds interval{1000};  // watch
  std::optional<std::uint64_t> count;        // watch
  serve::ServeOptions serve;                 // serve
  std::string runtime_dir;                   // vms: where serve's control socket is
};

// Parses argv, and KTSTATS_CONNECT when --connect is not given, each value
// once and before anything connects. --help and --version print and exit
// 0; a usage error prints one line naming the option or variable at fault
// and exits 64.
Invocation parse_invocation(int argc, char** argv);

}  // namespace ktstats::cli
