#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/relay_core.hpp"
#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// The relay's one timer: a timerfd that fires no later than the earliest
// deadline anyone has, so an idle relay never wakes.
//
// It is programmed as seldom as that allows: answer deadlines move later
// with every request and vanish with every answer, and a system call for
// each would cost more than the rest of a request's work. A timer armed at
// or before the deadline stays armed; when it fires early, the loop wakes
// and it is armed at the real deadline. Armed for a request in flight, it
// is armed at most kHorizon ahead, so that once the deadlines are gone it
// fires at most once, and soon; a far expiry nobody needs is disarmed.
class DeadlineTimer {
 public:
  static constexpr std::chrono::milliseconds kHorizon{100};

  static Result<DeadlineTimer> create();

  // Makes the timer fire no later than `deadline` (at once if it has
  // passed); `in_flight`: a deadline that comes and goes with requests is
  // among them.
  void fire_by(std::optional<Clock::time_point> deadline, bool in_flight, Clock::time_point now);
  // Clears an expiry, so the descriptor stops being readable.
  void consume();

  // The expiry set and not yet consumed.
  std::optional<Clock::time_point> armed_at() const { return armed_; }
  int fd() const { return fd_.get(); }
  std::uint64_t serial() const { return serial_; }

 private:
  DeadlineTimer(UniqueFd fd, std::uint64_t serial) : fd_(std::move(fd)), serial_(serial) {}

  void set(std::optional<Clock::time_point> when);

  UniqueFd fd_;
  std::uint64_t serial_;
  std::optional<Clock::time_point> armed_;
  bool fired_ = false;  // it fired, and has not been set since
};

}  // namespace ktstats::relay
