#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "io/event_loop.hpp"
#include "io/host_port.hpp"
#include "io/port_spec.hpp"
#include "core/relay_core.hpp"
#include "io/scheduler_link.hpp"

namespace ktstats::relay {

inline constexpr std::string_view kDefaultSchedulerSocket = "/var/run/scx/root/stats";

struct RelayOptions {
  PortSpec port;
  std::string scheduler_socket = std::string(kDefaultSchedulerSocket);
  std::chrono::milliseconds response_timeout{10'000};
  // How long a request waits for an absent scheduler socket to appear.
  std::chrono::milliseconds scheduler_wait{0};
  std::optional<std::chrono::milliseconds> wait_port;  // nullopt: for ever
  RelayLimits limits;
};

// The relay daemon: one event loop joining the port, the RelayCore and the
// scheduler link, until SIGTERM or SIGINT.
class Relay final : private RelayEffects {
 public:
  // Blocks SIGTERM and SIGINT for the signalfd: call before any thread starts.
  static Result<std::unique_ptr<Relay>> create(RelayOptions options);
  ~Relay() override;

  // Ok after a signal or when the port closed for good; the fatal error
  // otherwise.
  Status run();

 private:
  Relay(RelayOptions options, std::unique_ptr<EventLoop> loop);
  Status start();
  void fail(const std::string& why);
  void on_signal();

  Connect connect_scheduler(bool may_wait) override { return link_.connect(may_wait); }
  void send_to_scheduler(std::string_view line) override { link_.send(line); }
  void close_scheduler() override { link_.close(); }
  void start_response_timer() override { link_.start_timer(); }
  void stop_response_timer() override { link_.stop_timer(); }

  RelayOptions options_;
  std::unique_ptr<EventLoop> loop_;
  RelayCore core_;
  SchedulerLink link_;
  HostPort port_;
  UniqueFd signals_;
  std::optional<Error> fatal_;
};

}  // namespace ktstats::relay
