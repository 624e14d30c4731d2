#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/relay_core.hpp"
#include "io/path_waiter.hpp"
#include "io/port_channel.hpp"
#include "io/port_spec.hpp"
#include "io/transfer.hpp"
#include "io/uevent_watcher.hpp"

namespace ktstats::relay {

// The relay's side of the port: opens it (waiting for it to appear), reads
// and writes it, and tells when the host has gone. It calls nothing: the
// pump asks and moves the bytes. Readiness comes edge-triggered (kEvents),
// so a port whose host is away costs no wake-ups.
class HostPort {
 public:
  static constexpr std::uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  // How long bytes read before their host was seen to attach are kept
  // when the port reads EOF (docs/PROTOCOL.md, "End of the host").
  static constexpr std::chrono::seconds kUnseenHostHold{1};

  HostPort(PortSpec spec, std::optional<std::chrono::milliseconds> wait_limit);

  // Opens the port if it is closed and there: true when it tried (so the
  // pump goes round again). An error is fatal: the port did not appear
  // within the limit, or cannot be waited for, or is of a kind the relay
  // cannot serve.
  Result<bool> open(Clock::time_point now);
  bool is_open() const { return state_ == State::kOpen; }
  // Serving the default's fallback, it closes the port when the kernel
  // announced a port that makes another the one to serve (the named port
  // appeared, or the fallback got another name): true when it did, and the
  // host is gone.
  bool leave_if_superseded();
  // An inherited descriptor reached its end or failed: the relay is done.
  bool finished() const { return state_ == State::kFinished; }

  bool can_read() const { return is_open() && readable_; }
  bool can_write() const { return is_open() && writable_; }
  // A host was seen attached since the port opened or the last host left.
  bool host_seen() const { return host_seen_; }
  // kEnded: the host is gone (EOF, a reset, a failed port); the port has
  // been closed or rearmed as its kind requires.
  Transfer read(std::span<char> buffer, Clock::time_point now);
  Transfer write(std::string_view bytes);
  // The host went away without a read saying so: it hung up while the
  // relay was not reading (its answers backed up), or bytes read before it
  // was seen to attach were held for kUnseenHostHold.
  bool host_left(Clock::time_point now, bool reading);

  std::optional<Clock::time_point> next_deadline() const;

  // For the poller.
  int fd() const { return port_.channel->read_fd(); }
  std::uint64_t serial() const { return serial_; }
  void on_ready(std::uint32_t events);
  PathWaiter& waiter() { return waiter_; }
  const UeventWatcher& uevents() const { return uevents_; }
  void on_uevents();

 private:
  enum class State { kClosed, kWaiting, kOpen, kFinished };

  Result<bool> try_open(Clock::time_point now);
  void listen_for_ports();
  void opened(PortChannel port, std::string_view path);
  bool drained_by_short_read() const;
  void see_host();
  void end_host(bool discard_unread);
  Transfer failed(int error);
  void fail(int error);
  void close();

  PortSpec spec_;
  std::optional<std::chrono::milliseconds> wait_limit_;
  PathWaiter waiter_;
  UeventWatcher uevents_;
  State state_ = State::kClosed;
  bool ever_opened_ = false;
  PortChannel port_;
  std::string path_;
  // The port is the default's fallback, and a uevent came since it opened.
  bool on_fallback_ = false;
  bool recheck_ = false;
  std::uint64_t serial_ = 0;
  bool readable_ = false;
  bool writable_ = false;
  // The last readiness report said the host hung up.
  bool hung_up_ = false;
  // ... or shut down its writing side, or either.
  bool peer_closing_ = false;
  // The host has been seen attached (a readiness report without HUP, or a
  // write that went through) since the last one left. A virtio port learns
  // of a host's arrival from a control message that the driver handles
  // later than the host's first bytes, so until then EOF only means "not
  // here yet", not "gone".
  bool host_seen_ = false;
  bool read_unseen_ = false;  // bytes were read while !host_seen_
  std::optional<Clock::time_point> unseen_until_;
};

}  // namespace ktstats::relay
