#include "io/refused_retry.hpp"

#include <algorithm>

namespace ktstats::relay {
namespace {

constexpr std::chrono::milliseconds kFirst{5};
constexpr std::chrono::milliseconds kLongest{100};
constexpr std::chrono::milliseconds kBudget{2000};

}  // namespace

RefusedRetry::RefusedRetry(EventLoop& loop, std::function<void()> retry)
    : timer_(loop, std::move(retry)) {}

Status RefusedRetry::start() { return timer_.start(); }

void RefusedRetry::socket_changed() {
  next_ = kFirst;
  spent_ = std::chrono::milliseconds(0);
}

void RefusedRetry::refused() {
  if (spent_ >= kBudget) return;
  timer_.arm(next_);
  spent_ += next_;
  next_ = std::min(next_ * 2, kLongest);
}

void RefusedRetry::cancel() {
  timer_.disarm();
  socket_changed();
}

}  // namespace ktstats::relay
