#pragma once

#include <string>
#include <vector>

namespace ktstats::bench {

// One program run, measured by bench_spawn: wall time from fork to
// reaping, peak RSS, exit status, and what it printed.
struct TimedRun {
  double wall_ms = 0;
  long max_rss_kib = 0;
  int status = -1;  // exit status, 128 + signal if killed
  std::string out;
};

// Runs argv with `input` on its stdin; stdout is captured, stderr dropped.
TimedRun run_timed(const std::vector<std::string>& argv, const std::string& input);

}  // namespace ktstats::bench
