#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "io/dir_watch.hpp"
#include "io/event_loop.hpp"
#include "io/refused_retry.hpp"
#include "io/timer.hpp"
#include "ktstats/unique_fd.hpp"
#include "core/relay_core.hpp"

namespace ktstats::relay {

// The connection to the scheduler's scx_stats socket, and the response
// timer. Bytes, closes and timeouts go to the RelayCore; `after_event` runs
// after each, so the owner can flush what the core produced. While the
// socket is absent, a connect may wait for it (inotify, no polling) for up
// to `scheduler_wait`.
class SchedulerLink {
 public:
  struct Timing {
    std::chrono::milliseconds response_timeout;
    std::chrono::milliseconds scheduler_wait;
  };

  SchedulerLink(EventLoop& loop, RelayCore& core, std::string socket_path, Timing timing,
                std::function<void()> after_event);
  ~SchedulerLink();
  SchedulerLink(const SchedulerLink&) = delete;
  SchedulerLink& operator=(const SchedulerLink&) = delete;

  Status start();  // creates the timers

  RelayEffects::Connect connect(bool may_wait);
  void send(std::string_view line);
  void close();
  void start_timer();
  void stop_timer();

 private:
  Result<UniqueFd> try_connect();
  bool adopt(UniqueFd fd, std::string* failure);
  enum class Retry { kConnected, kFailed, kWaiting };
  Retry watch_and_retry();
  void stop_waiting();
  void on_socket_dir_change();
  void on_wait_timeout();
  void retry_connect();
  void on_socket_event(std::uint32_t events);
  void on_response_timeout();
  void flush();

  EventLoop& loop_;
  RelayCore& core_;
  std::string socket_path_;
  Timing timing_;
  std::function<void()> after_event_;
  UniqueFd socket_;
  Timer response_timer_;
  Timer wait_timer_;
  DirWatch socket_dir_watch_;
  RefusedRetry refused_retry_;
  bool waiting_ = false;
  std::string wait_failure_;  // why the last connect failed, for the host
  std::string watched_dir_;
  std::string output_;  // request bytes the socket has not taken yet
  bool want_write_ = false;
};

}  // namespace ktstats::relay
