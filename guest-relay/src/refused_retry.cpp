#include "refused_retry.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ktstats::relay {
namespace {

constexpr std::chrono::milliseconds kFirst{5};
constexpr std::chrono::milliseconds kLongest{100};
constexpr std::chrono::milliseconds kBudget{2000};

void arm(int timer, std::chrono::milliseconds after) {
  itimerspec spec{};
  spec.it_value.tv_sec = after.count() / 1000;
  spec.it_value.tv_nsec = (after.count() % 1000) * 1'000'000;
  ::timerfd_settime(timer, 0, &spec, nullptr);
}

}  // namespace

RefusedRetry::RefusedRetry(EventLoop& loop, std::function<void()> retry)
    : loop_(loop), retry_(std::move(retry)) {}

RefusedRetry::~RefusedRetry() {
  if (timer_) loop_.remove(timer_.get());
}

Status RefusedRetry::start() {
  timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_) return Transport{"timerfd_create", errno};
  return loop_.add(timer_.get(), EPOLLIN, [this](std::uint32_t) { on_timer(); });
}

void RefusedRetry::socket_changed() {
  next_ = kFirst;
  spent_ = std::chrono::milliseconds(0);
}

void RefusedRetry::refused() {
  if (!timer_ || spent_ >= kBudget) return;
  arm(timer_.get(), next_);
  spent_ += next_;
  next_ = std::min(next_ * 2, kLongest);
}

void RefusedRetry::cancel() {
  if (timer_) arm(timer_.get(), std::chrono::milliseconds(0));
  socket_changed();
}

void RefusedRetry::on_timer() {
  std::uint64_t expirations = 0;
  if (::read(timer_.get(), &expirations, sizeof expirations) != sizeof expirations) return;
  retry_();
}

}  // namespace ktstats::relay
