#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <sys/epoll.h>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// A number that no other open descriptor of this process was given: what
// tells a reopened descriptor from the one it replaced when the kernel
// hands out the same number again.
std::uint64_t new_open_serial();

// The relay's one epoll set. It is declared as a whole after each pass of
// the pump (watch_exactly), so what the relay waits for is written in one
// place; each descriptor is watched under a tag that names its source, and
// a wake-up reports tags, never bare descriptor numbers.
class Poller {
 public:
  using Tag = std::uint64_t;
  struct Watch {
    Tag tag;
    int fd;
    std::uint64_t serial;  // from new_open_serial(), when the fd was opened
    std::uint32_t events;

    bool operator==(const Watch&) const = default;
  };
  struct Ready {
    Tag tag;
    std::uint32_t events;
  };

  static Result<Poller> create();

  // Makes the set exactly `watches` (any order; sorted in place), changing
  // only what differs from the last call.
  Status watch_exactly(std::vector<Watch>& watches);

  // Waits up to timeout_ms (-1: for ever, 0: not at all) for readiness.
  Result<std::span<const Ready>> wait(int timeout_ms);

 private:
  explicit Poller(UniqueFd epoll) : epoll_(std::move(epoll)) {}
  Status control(int op, const Watch& watch);

  UniqueFd epoll_;
  std::vector<Watch> watched_;  // sorted by tag
  std::vector<Ready> ready_;
};

}  // namespace ktstats::relay
