#include "io/timer.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

namespace ktstats::relay {

Timer::Timer(EventLoop& loop, std::function<void()> on_expiry)
    : loop_(loop), on_expiry_(std::move(on_expiry)) {}

Timer::~Timer() {
  if (fd_) loop_.remove(fd_.get());
}

Status Timer::start() {
  fd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd_) return Transport{"timerfd_create", errno};
  return loop_.add(fd_.get(), EPOLLIN, [this](std::uint32_t) { on_readable(); });
}

// An all-zero value disarms a timerfd, so "now" is one nanosecond.
void Timer::arm(std::chrono::milliseconds after) {
  set(after.count() > 0 ? std::chrono::nanoseconds(after) : std::chrono::nanoseconds(1));
}

void Timer::disarm() { set(std::chrono::nanoseconds(0)); }

void Timer::set(std::chrono::nanoseconds after) {
  if (!fd_) return;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(after.count() / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(after.count() % 1'000'000'000);
  ::timerfd_settime(fd_.get(), 0, &spec, nullptr);
}

void Timer::on_readable() {
  std::uint64_t expirations = 0;
  // Nothing to read: disarmed or re-armed since it fired.
  if (::read(fd_.get(), &expirations, sizeof expirations) != sizeof expirations) return;
  on_expiry_();
}

}  // namespace ktstats::relay
