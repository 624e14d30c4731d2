#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/relay_core.hpp"
#include "io/path_waiter.hpp"
#include "io/transfer.hpp"
#include "ktstats/channel.hpp"

namespace ktstats::relay {

// One connection to the scheduler's scx_stats socket: a channel, and what
// the last readiness report and the last transfer said.
class SchedulerLink {
 public:
  SchedulerLink(std::unique_ptr<Channel> channel, std::uint64_t serial)
      : channel_(std::move(channel)), serial_(serial) {}

  bool is_open() const { return channel_ != nullptr; }
  bool can_read() const { return is_open() && readable_; }
  bool can_write() const { return is_open() && writable_; }
  // kEnded: the scheduler closed the connection or it broke; it is closed.
  Transfer read(std::span<char> buffer);
  Transfer write(std::string_view bytes);
  void close() { channel_.reset(); }

  // For the poller: level-triggered, and EPOLLOUT only while a write
  // would have blocked.
  int fd() const { return channel_->read_fd(); }
  std::uint64_t serial() const { return serial_; }
  std::uint32_t events() const { return EPOLLIN | EPOLLRDHUP | (writable_ ? 0u : EPOLLOUT); }
  void on_ready(std::uint32_t events);

 private:
  std::unique_ptr<Channel> channel_;
  std::uint64_t serial_;
  bool readable_ = false;
  bool writable_ = true;
};

// The scheduler connections, one per link the core names, and the one wait
// for the scheduler's socket that every link without it shares (one
// inotify instance, however many sessions wait). Calls nothing: the pump
// applies the core's commands here and tells the core what came of them.
class SchedulerLinks {
 public:
  explicit SchedulerLinks(std::string socket_path);

  // What a connect came to, for the core.
  struct Outcome {
    enum class Kind {
      kConnected,
      kFailed,   // `reason`: for the host's error line
      kWaiting,  // `reason`: what is missing
    } kind;
    LinkId link;
    std::string reason;
  };

  // kConnect (may_wait false) or kConnectOrWait.
  Outcome connect(LinkId link, bool may_wait, Clock::time_point now);
  // kClose: closes the connection, or stops waiting for it.
  void close(LinkId link);
  // Connects the waiting links if the socket may be there now; appends
  // what came of each that stopped waiting. True when it tried.
  bool connect_waiting(Clock::time_point now, std::vector<Outcome>& outcomes);
  // Drops links closed by a failed transfer.
  void forget_closed();

  std::map<LinkId, SchedulerLink>& open_links() { return links_; }
  // The link's connection if it is open, else null.
  SchedulerLink* find_open(LinkId link);
  std::optional<Clock::time_point> next_deadline() const { return waiter_.next_deadline(); }
  PathWaiter& waiter() { return waiter_; }
  void on_ready(LinkId link, std::uint32_t events);

 private:
  Result<std::unique_ptr<Channel>> try_connect();

  std::string socket_path_;
  std::map<LinkId, SchedulerLink> links_;
  std::set<LinkId> waiting_;
  PathWaiter waiter_;
};

}  // namespace ktstats::relay
