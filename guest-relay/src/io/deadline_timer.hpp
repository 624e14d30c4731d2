#pragma once

#include <cstdint>
#include <optional>

#include "core/relay_core.hpp"
#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// The relay's one timer: a timerfd armed at the earliest deadline anyone
// has, and disarmed when nobody has one, so an idle relay never wakes.
class DeadlineTimer {
 public:
  static Result<DeadlineTimer> create();

  // Expires at `when` (at once if it has passed); nullopt disarms.
  void arm_at(std::optional<Clock::time_point> when);
  // Clears an expiry, so the descriptor stops being readable.
  void consume();

  int fd() const { return fd_.get(); }
  std::uint64_t serial() const { return serial_; }

 private:
  DeadlineTimer(UniqueFd fd, std::uint64_t serial) : fd_(std::move(fd)), serial_(serial) {}

  UniqueFd fd_;
  std::uint64_t serial_;
  std::optional<Clock::time_point> armed_;
};

}  // namespace ktstats::relay
