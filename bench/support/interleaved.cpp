#include "interleaved.hpp"

#include <stdexcept>

namespace ktstats::bench {

void warm_up(TimedClient& timed, std::string_view request, std::size_t bytes, int count) {
  for (int i = 0; i < count; ++i) {
    if (timed.client->ask(request) != bytes) throw std::runtime_error(timed.name + ": wrong answer during warm-up");
  }
}

void time_interleaved(const std::vector<TimedClient*>& clients, std::string_view request, std::size_t total,
                      std::size_t rounds) {
  for (std::size_t round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto& timed = *clients[(round + i) % clients.size()];
      auto samples = timed.client->time(request, total / rounds);
      if (samples.empty()) throw std::runtime_error(timed.name + ": a round trip failed");
      timed.samples.insert(timed.samples.end(), samples.begin(), samples.end());
    }
  }
}

}  // namespace ktstats::bench
