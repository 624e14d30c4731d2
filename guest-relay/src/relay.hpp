#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/relay_core.hpp"
#include "io/deadline_timer.hpp"
#include "io/host_port.hpp"
#include "io/poller.hpp"
#include "io/port_spec.hpp"
#include "io/scheduler_links.hpp"

namespace ktstats::relay {

inline constexpr std::string_view kDefaultSchedulerSocket = "/var/run/scx/root/stats";

struct RelayOptions {
  PortSpec port;
  std::string scheduler_socket = std::string(kDefaultSchedulerSocket);
  std::optional<std::chrono::milliseconds> wait_port;  // nullopt: for ever
  RelayLimits limits;
  RelayTiming timing;
};

// The relay daemon: the RelayCore between the port and the scheduler
// links, driven by one pump after every wake-up of one epoll loop, until
// SIGTERM or SIGINT, or until an inherited port closes.
class Relay {
 public:
  // Blocks SIGTERM and SIGINT for the signalfd: call before any thread starts.
  static Result<std::unique_ptr<Relay>> create(RelayOptions options);

  // Ok after a signal or when the port closed for good; the fatal error
  // otherwise.
  Status run();

 private:
  Relay(RelayOptions options, Poller poller, DeadlineTimer timer, UniqueFd signals);

  bool pump();
  void pass_time(Clock::time_point now);
  void settle(Clock::time_point now);
  bool open_port(Clock::time_point now);
  bool end_gone_host(Clock::time_point now);
  void run_link_commands(Clock::time_point now);
  void connect_waiting_links(Clock::time_point now);
  void report(const SchedulerLinks::Outcome& outcome, Clock::time_point now);
  bool write_host(Clock::time_point now);
  bool write_links(Clock::time_point now);
  void carry_out_link_commands(Clock::time_point now);
  void read_host(Clock::time_point now);
  void read_links(Clock::time_point now);
  void host_gone();
  void arm_timer(Clock::time_point now);
  void watch_all();
  void note_ready(const Poller::Ready& ready);
  void fail(Error error);

  RelayOptions options_;
  Poller poller_;
  DeadlineTimer timer_;
  UniqueFd signals_;
  std::uint64_t signals_serial_;
  RelayCore core_;
  HostPort port_;
  SchedulerLinks links_;
  std::vector<Poller::Watch> watches_;
  std::vector<SchedulerLinks::Outcome> outcomes_;
  std::vector<LinkId> link_ids_;  // the links one pump reads, by id
  // Something besides bytes to read happened since the last settle.
  bool unsettled_ = true;
  bool stopping_ = false;
  std::optional<Error> fatal_;
};

}  // namespace ktstats::relay
