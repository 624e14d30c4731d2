#include "latency.hpp"

#include <algorithm>
#include <cmath>

namespace ktstats::bench {
namespace {

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double fraction) {
  const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

Summary summarize(std::vector<double> samples) {
  if (samples.empty()) return {};
  std::sort(samples.begin(), samples.end());
  return {samples.size(), percentile(samples, 0.5), percentile(samples, 0.99)};
}

}  // namespace ktstats::bench
