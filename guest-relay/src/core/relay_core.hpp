#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_output.hpp"
#include "core/link_id.hpp"
#include "core/link_table.hpp"
#include "core/session_table.hpp"
#include "core/work_queue.hpp"
#include "ktstats/limits.hpp"
#include "ktstats/line_framer.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats::relay {

using Clock = std::chrono::steady_clock;

struct RelayLimits {
  std::size_t max_line = kMaxLineBytes;
  // Sessions a host may have open at once besides the implicit one.
  std::size_t max_sessions = 64;
  // Requests of one session waiting behind the one in progress; past it, a
  // request is answered "relay queue full".
  std::size_t max_queued = 64;
  // Bytes all waiting requests may hold together.
  std::size_t max_queued_bytes = 1024 * 1024;
  // Past this many unsent bytes for the host, the relay stops taking new
  // requests until the host reads.
  std::size_t host_output_high_water = 256 * 1024;
  // Lines the relay answers itself (echoes, error lines) waiting to go out
  // in their turn; at it, the relay stops reading the host until they go.
  std::size_t max_queued_answers = 256;
};

struct RelayTiming {
  std::chrono::milliseconds response_timeout{10'000};
  // How long a request waits for an absent scheduler socket to appear.
  std::chrono::milliseconds scheduler_wait{0};
};

struct RelayCounters {
  std::uint64_t requests = 0;
  std::uint64_t stray_scheduler_lines = 0;
  std::uint64_t sessions_opened = 0;
  // Implicit sessions ended by a sync line with a new nonce, the port
  // having shown no EOF.
  std::uint64_t sessions_replaced_at_sync = 0;
  // Requests sent again on a new connection: the scheduler closed the last
  // one before any byte of them went out.
  std::uint64_t requests_resent = 0;
};

// The relay's whole protocol, as pure input -> output: bytes from the host,
// bytes and events from scheduler links, the time; out come bytes for the
// host, bytes for links, link commands and the next deadline. It performs no
// I/O and calls nothing back, so every path can be driven by tests and
// fuzzers without sockets, and the event loop's pump reads in one place.
//
// Requests of all sessions are served one at a time, in the order the host
// sent them, and every line the host sends but a select line gets exactly
// one line back, in that order (docs/PROTOCOL.md).
class RelayCore {
 public:
  RelayCore(RelayLimits limits, RelayTiming timing, std::string version);

  // --- inputs ---
  void on_host_bytes(Clock::time_point now, std::string_view bytes);
  // The host went away: every session ends, everything queued is dropped.
  void on_host_gone();
  void host_output_written(Clock::time_point now, std::size_t bytes);

  void on_link_connected(Clock::time_point now, LinkId link);
  // A connect failed for good (or waiting for the socket failed).
  void on_link_failed(Clock::time_point now, LinkId link, std::string reason);
  // A kConnectOrWait found no socket and waits for it; `reason` says what is
  // missing, for the error line if the wait runs out.
  void on_link_waiting(LinkId link, std::string reason);
  void on_link_bytes(Clock::time_point now, LinkId link, std::string_view bytes);
  // The scheduler closed the connection or it failed.
  void on_link_closed(Clock::time_point now, LinkId link);
  void link_output_written(LinkId link, std::size_t bytes);

  // The time passed next_deadline().
  void on_time(Clock::time_point now);

  // --- outputs ---
  // The event loop reads from the host only while this holds, so neither
  // the framer nor the host output grows past its bound.
  bool wants_host_input() const;
  // Bytes for the host, not yet written.
  std::string_view host_output() const;
  // Link commands since the last call, in order.
  std::vector<LinkCommand> take_link_commands();
  // Commands wait to be taken: the I/O layer carries them out before it
  // reads a link again, so no byte of a connection closed is ever taken for
  // the next connection on the same link.
  bool has_link_commands() const;
  // Bytes for a link's scheduler connection, not yet written.
  std::string_view link_output(LinkId link) const;
  std::optional<Clock::time_point> next_deadline() const;

  bool idle() const;
  std::size_t open_sessions() const;
  const RelayCounters& counters() const { return counters_; }

  // Whether a connection on `link` may exist: the implicit session's, or a
  // slot held by a session (open, or closed and its kClose not issued yet).
  bool holds_link(LinkId link) const;

  // What the queue of work holds (of one link's session, when given), for
  // tests and fuzzers to check its bounds.
  struct QueueFootprint {
    std::size_t entries = 0;  // a run of one answer repeated counts once
    std::size_t bytes = 0;
  };
  QueueFootprint queue_footprint(std::optional<LinkId> link = std::nullopt) const;

 private:
  // What the front of the queue is doing; only a request ever waits there.
  enum class Head { kIdle, kAwaitingConnect, kInFlight };

  void take_host_lines(Clock::time_point now);
  void take_line(std::string_view line);
  void on_sync(std::string nonce);
  void on_open(std::string id);
  void on_select(const std::string& id);
  void on_close(std::string id);
  void select_none(std::string id);
  void replace_implicit_session();
  void queue_request(std::string_view line);

  void pump(Clock::time_point now);
  void start_head(Clock::time_point now);
  void send_head(Clock::time_point now);
  void finish_head(LinkId owner, std::string line);
  void answer_head(LinkId owner, std::string_view line, LineFramer& framer);
  void resend_head(Clock::time_point now, std::string line);
  void close_head_session();
  bool head_is(LinkId link, Head state) const;
  void connect_early(LinkId link);

  void emit(LinkId owner, std::string line);
  bool host_backed_up() const;
  bool answers_backed_up() const;

  RelayLimits limits_;
  RelayTiming timing_;
  std::string version_;
  LineFramer host_framer_;
  HostOutput host_output_;
  SessionTable sessions_;
  LinkTable links_;
  // The session that request lines go to; none after a select of a session
  // that is not open, and `unselected_` names it for the error lines.
  std::optional<LinkId> selected_ = kImplicitLink;
  std::string unselected_;
  // The nonce of the implicit session's latest sync line; empty before one.
  std::string implicit_nonce_;

  WorkQueue queue_;
  Head head_ = Head::kIdle;
  Clock::time_point head_since_{};  // when the head started its current wait
  bool head_resent_ = false;         // the head went over a second connection
  RelayCounters counters_;
};

}  // namespace ktstats::relay
