#pragma once

#include <cstddef>
#include <vector>

namespace ktstats::bench {

// Median and 99th percentile of a set of samples (microseconds or any unit).
struct Summary {
  std::size_t count = 0;
  double median = 0;
  double p99 = 0;
};

Summary summarize(std::vector<double> samples);

}  // namespace ktstats::bench
