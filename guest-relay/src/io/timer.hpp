#pragma once

#include <chrono>
#include <functional>

#include "io/event_loop.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// A one-shot timerfd in the event loop, calling back when it expires.
class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> on_expiry);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  Status start();
  // Expires once, `after` from now; a new arm replaces the old one.
  void arm(std::chrono::milliseconds after);
  void disarm();

 private:
  void set(std::chrono::nanoseconds after);
  void on_readable();

  EventLoop& loop_;
  std::function<void()> on_expiry_;
  UniqueFd fd_;
};

}  // namespace ktstats::relay
