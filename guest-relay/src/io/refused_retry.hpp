#pragma once

#include <chrono>
#include <functional>

#include "io/event_loop.hpp"
#include "io/timer.hpp"

namespace ktstats::relay {

// Retries a connection that a socket refused just after it appeared: a
// server binds (the file appears, inotify fires) and only then listens,
// which raises no event. Retries come 5 ms apart, doubling to 100 ms, for
// at most 2 s after the last time the socket was seen to change.
class RefusedRetry {
 public:
  RefusedRetry(EventLoop& loop, std::function<void()> retry);
  RefusedRetry(const RefusedRetry&) = delete;
  RefusedRetry& operator=(const RefusedRetry&) = delete;

  Status start();
  // The socket changed (an inotify event): a refusal is worth retrying again.
  void socket_changed();
  // A connect was refused: retry later, within the budget.
  void refused();
  void cancel();

 private:
  Timer timer_;
  std::chrono::milliseconds next_{5};
  std::chrono::milliseconds spent_{0};
};

}  // namespace ktstats::relay
