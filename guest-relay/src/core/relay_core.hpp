#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "ktstats/limits.hpp"
#include "ktstats/line_framer.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats::relay {

struct RelayLimits {
  std::size_t max_line = kMaxLineBytes;
  // Requests waiting behind the one in progress, and the bytes they may
  // hold; past either, a request is answered "relay queue full".
  std::size_t max_queued = 64;
  std::size_t max_queued_bytes = 1024 * 1024;
  // Past this many unsent bytes for the host, the relay stops taking new
  // requests until the host reads.
  std::size_t host_output_high_water = 256 * 1024;
};

// What the request pipeline needs from the world; the event loop provides it.
// None of these may call back into the RelayCore: failures are reported
// later, from the event loop.
class RelayEffects {
 public:
  virtual ~RelayEffects() = default;
  // Opens the scheduler connection. kWaiting (only when may_wait): the
  // socket is not there yet and the link waits for it, then calls
  // on_scheduler_connected() or on_scheduler_unavailable().
  struct Connect {
    enum class Outcome { kConnected, kFailed, kWaiting } outcome;
    std::string failure;  // the reason for the host, when kFailed
  };
  virtual Connect connect_scheduler(bool may_wait) = 0;
  // Sends one request line; the newline is added by the link.
  virtual void send_to_scheduler(std::string_view line) = 0;
  virtual void close_scheduler() = 0;
  virtual void start_response_timer() = 0;
  virtual void stop_response_timer() = 0;
};

struct RelayCounters {
  std::uint64_t requests = 0;
  std::uint64_t stray_scheduler_lines = 0;
  // Sessions ended by a sync line with a new nonce, the port having shown
  // no EOF.
  std::uint64_t sessions_replaced_at_sync = 0;
};

// One host session's requests, answered in order, one line each: forwarded
// to the scheduler one at a time, or answered by the relay (sync lines,
// errors). No I/O of its own, so every path can be driven by tests and
// fuzzers without sockets.
class RelayCore {
 public:
  RelayCore(RelayEffects& effects, RelayLimits limits, std::string version);

  // The event loop reads from the host only while this holds, so neither
  // the framer nor the host output grows past its bound.
  bool wants_host_input() const;
  void on_host_bytes(std::string_view bytes);

  void on_scheduler_connected();
  void on_scheduler_unavailable(const std::string& reason);
  void on_scheduler_bytes(std::string_view bytes);
  void on_scheduler_closed();
  void on_response_timeout(std::string_view after);

  // Bytes for the host, not yet written; the caller reports what it wrote.
  std::string_view host_output() const;
  void host_output_written(std::size_t bytes);

  // The host went away: everything in flight is dropped.
  void end_session();

  bool idle() const;
  const RelayCounters& counters() const { return counters_; }

 private:
  enum class Kind {
    kForward,  // a request for the scheduler
    kAnswer,   // answered by the relay itself
    kRejects,  // `repeat` requests refused because the queue was full
  };
  struct Pending {
    Kind kind;
    std::string line;  // the request to forward, or the answer, without newline
    std::uint64_t repeat = 1;
  };

  void take_host_lines();
  void on_sync(std::string nonce);
  void replace_session();
  void drop_session_work();
  void connect_early();
  bool head_in_progress() const;
  void accept_request(Pending pending);
  void reject_request(std::string reason);
  void pump();
  bool forward_head();
  void answer_in_flight(std::string line);
  void fail_in_flight(RelayErrorKind kind, const std::string& reason);
  void send_head();
  void pop_head();
  void emit(std::string line);
  void drop_scheduler();
  bool host_backed_up() const;

  RelayEffects& effects_;
  RelayLimits limits_;
  std::string version_;
  LineFramer host_framer_;
  LineFramer scheduler_framer_;
  std::deque<Pending> queue_;
  // Forward and answer entries, the one in progress included (reject runs
  // are not counted: at most two sit between two of those, so they are
  // bounded too).
  std::size_t queued_count_ = 0;
  std::size_t queued_bytes_ = 0;
  bool in_flight_ = false;
  bool scheduler_connected_ = false;
  bool scheduler_connecting_ = false;  // the head request waits for the socket
  std::string host_output_;
  std::size_t host_output_sent_ = 0;
  // The host has been written part of a line and not its newline.
  bool host_mid_line_ = false;
  // The nonce of the session's latest sync line; empty before its first.
  std::string session_nonce_;
  RelayCounters counters_;
};

}  // namespace ktstats::relay
