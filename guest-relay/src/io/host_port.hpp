#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/dir_watch.hpp"
#include "io/event_loop.hpp"
#include "ktstats/channel.hpp"
#include "io/port_spec.hpp"
#include "io/refused_retry.hpp"
#include "io/timer.hpp"
#include "core/relay_core.hpp"

namespace ktstats::relay {

// The relay's side of the port: opens it (waiting for it to appear), moves
// bytes between it and the RelayCore, and turns the end of each host
// session into a fresh start. Edge-triggered, so a port whose host is away
// costs no wake-ups at all.
class HostPort {
 public:
  struct Callbacks {
    std::function<void(const std::string&)> fatal;  // the relay cannot go on
    std::function<void()> finished;                 // the port closed for good
  };

  HostPort(EventLoop& loop, RelayCore& core, PortSpec spec,
           std::optional<std::chrono::milliseconds> wait_limit, Callbacks callbacks);
  ~HostPort();
  HostPort(const HostPort&) = delete;
  HostPort& operator=(const HostPort&) = delete;

  Status start();
  // Writes pending output and reads input, as far as both sides allow.
  void service();

 private:
  enum class Opened { kYes, kNotYet };
  Result<Opened> try_open();
  void wait_for_port();
  void on_port_change();
  void retry_open();
  void on_wait_timeout();
  void on_event(std::uint32_t events);
  bool flush();
  bool read_some();
  void on_host_gone();
  void on_port_failed(int error);
  void close_channel();

  EventLoop& loop_;
  RelayCore& core_;
  PortSpec spec_;
  std::optional<std::chrono::milliseconds> wait_limit_;
  Callbacks callbacks_;
  std::unique_ptr<Channel> channel_;
  DirWatch watch_;
  RefusedRetry refused_retry_;
  Timer wait_timer_;
  bool readable_ = false;
  bool writable_ = false;
  // The host has been seen attached (an event without HUP, or a write that
  // went through) since the last session ended. A virtio port learns of a
  // host's arrival from a control message that the driver handles later
  // than the host's first bytes, so until then EOF only means "not here
  // yet", not "gone".
  bool host_seen_ = false;
  bool ever_opened_ = false;
};

}  // namespace ktstats::relay
