#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "round_trip.hpp"

namespace ktstats::bench {

// One way to the scheduler under measurement: a client and its samples.
struct TimedClient {
  std::string name;
  std::unique_ptr<RoundTripClient> client;
  std::vector<double> samples;
};

// `count` round trips whose answers must be `bytes` long; throws
// std::runtime_error naming the client otherwise.
void warm_up(TimedClient& timed, std::string_view request, std::size_t bytes, int count);

// `total` round trips on each client, in `rounds` blocks per client, each
// round starting with the next client, so that machine noise hits them
// alike. Throws std::runtime_error naming a client whose round trip failed.
void time_interleaved(const std::vector<TimedClient*>& clients, std::string_view request, std::size_t total,
                      std::size_t rounds);

}  // namespace ktstats::bench
