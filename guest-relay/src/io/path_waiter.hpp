#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/relay_core.hpp"
#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// Waits for something to appear in a directory (a device node, a socket)
// without polling, and says when its owner should try to open it again:
// - inotify on the directory, or on its nearest existing ancestor while the
//   directory itself is still missing;
// - a retry soon after a refused connection, because a server binds (the
//   file appears, inotify fires) before it listens, which raises no event:
//   5 ms apart, doubling to 100 ms, for at most 2 s after the last change;
// - optionally, a limit after which it gives up.
// It opens nothing and arms no timer: the relay's pump asks it what to do
// and includes next_deadline() in the one timer.
class PathWaiter {
 public:
  // `dir`: where the awaited entry appears.
  explicit PathWaiter(std::string dir) : dir_(std::move(dir)) {}

  // Starts waiting (again). The first poll() says kTryNow: the entry may
  // have appeared between the owner's failed attempt and the watch.
  Status start(Clock::time_point now, std::optional<std::chrono::milliseconds> limit = {});
  void stop();
  bool waiting() const { return inotify_.valid(); }

  enum class Verdict { kWait, kTryNow, kGiveUp };
  Verdict poll(Clock::time_point now);

  // The attempt after kTryNow found nothing: watches a deeper directory if
  // one has appeared since (the next poll() then says kTryNow).
  void absent();
  // The attempt after kTryNow was refused: try again within the budget.
  void refused(Clock::time_point now);

  std::optional<Clock::time_point> next_deadline() const;

  // For the poller: readable when the directory changed.
  int fd() const { return inotify_.get(); }
  std::uint64_t serial() const { return serial_; }
  void on_readable() { changed_ = true; }

 private:
  Status watch_nearest();
  void drain();

  std::string dir_;
  UniqueFd inotify_;
  std::uint64_t serial_ = 0;
  int watch_ = -1;
  std::string watched_;
  bool changed_ = false;
  bool try_now_ = false;
  std::optional<Clock::time_point> retry_at_;
  std::optional<Clock::time_point> give_up_at_;
  std::chrono::milliseconds next_retry_{5};
  std::chrono::milliseconds retries_spent_{0};
};

}  // namespace ktstats::relay
