#include "io/deadline_timer.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

#include "io/poller.hpp"

namespace ktstats::relay {

Result<DeadlineTimer> DeadlineTimer::create() {
  // steady_clock is CLOCK_MONOTONIC, so deadlines are armed as they are.
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) return Transport{"timerfd_create", errno};
  return DeadlineTimer(std::move(fd), new_open_serial());
}

void DeadlineTimer::arm_at(std::optional<Clock::time_point> when) {
  if (when == armed_) return;
  armed_ = when;
  itimerspec spec{};
  if (when) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when->time_since_epoch()).count();
    // An all-zero value would disarm it.
    const auto at = ns > 0 ? ns : 1;
    spec.it_value.tv_sec = static_cast<time_t>(at / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(at % 1'000'000'000);
  }
  ::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void DeadlineTimer::consume() {
  std::uint64_t expirations = 0;
  if (::read(fd_.get(), &expirations, sizeof expirations) == sizeof expirations) armed_.reset();
}

}  // namespace ktstats::relay
