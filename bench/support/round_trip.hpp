#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktstats/unique_fd.hpp"

namespace ktstats::bench {

// A blocking request/answer client on a connected stream socket: the same
// few system calls whatever sits behind the socket, so that differences
// between bridges are the bridges'. Reads time out after 10 s, so a hang
// ends the run instead of stalling it.
class RoundTripClient {
 public:
  explicit RoundTripClient(UniqueFd fd);

  // Sends one request line; returns the answer line's length, nullopt on
  // error, EOF or timeout.
  std::optional<std::size_t> ask(std::string_view request_line);

  // Latency of each of `count` round trips, in microseconds; empty on error.
  std::vector<double> time(std::string_view request_line, std::size_t count);

 private:
  UniqueFd fd_;
  std::string buffer_;
};

}  // namespace ktstats::bench
