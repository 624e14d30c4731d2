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

void DeadlineTimer::fire_by(std::optional<Clock::time_point> deadline, bool in_flight,
                            Clock::time_point now) {
  const auto soon = now + kHorizon;
  if (!deadline) {
    // Left to fire once if that comes soon: a request may follow at once.
    if (armed_ && *armed_ > soon) set(std::nullopt);
    fired_ = false;
    return;
  }
  if (armed_ && *armed_ <= *deadline) return;
  set(in_flight && !fired_ ? std::min(*deadline, soon) : *deadline);
}

void DeadlineTimer::set(std::optional<Clock::time_point> when) {
  armed_ = when;
  fired_ = false;
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
  if (::read(fd_.get(), &expirations, sizeof expirations) != sizeof expirations) return;
  armed_.reset();
  fired_ = true;
}

}  // namespace ktstats::relay
