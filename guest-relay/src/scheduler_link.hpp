#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "event_loop.hpp"
#include "ktstats/unique_fd.hpp"
#include "relay_core.hpp"

namespace ktstats::relay {

// The connection to the scheduler's scx_stats socket, and the response
// timer. Bytes, closes and timeouts go to the RelayCore; `after_event` runs
// after each, so the owner can flush what the core produced.
class SchedulerLink {
 public:
  SchedulerLink(EventLoop& loop, RelayCore& core, std::string socket_path,
                std::chrono::milliseconds response_timeout, std::function<void()> after_event);
  ~SchedulerLink();
  SchedulerLink(const SchedulerLink&) = delete;
  SchedulerLink& operator=(const SchedulerLink&) = delete;

  Status start();  // creates the timer

  std::optional<std::string> connect();
  void send(std::string_view line);
  void close();
  void start_timer();
  void stop_timer();

 private:
  void on_socket_event(std::uint32_t events);
  void on_timer();
  void flush();
  void arm(std::chrono::milliseconds after);

  EventLoop& loop_;
  RelayCore& core_;
  std::string socket_path_;
  std::chrono::milliseconds response_timeout_;
  std::function<void()> after_event_;
  UniqueFd socket_;
  UniqueFd timer_;
  std::string output_;  // request bytes the socket has not taken yet
  bool want_write_ = false;
};

}  // namespace ktstats::relay
