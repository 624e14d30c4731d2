#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "client/endpoint.hpp"
#include "client/interrupt.hpp"
#include "ktstats/channel.hpp"
#include "ktstats/line_framer.hpp"
#include "ktstats/relay_line.hpp"
#include "wire/request.hpp"

namespace ktstats::cli {

using Clock = std::chrono::steady_clock;

// The time one command may take, and the budget it came from (for messages).
struct Deadline {
  Clock::time_point at;
  std::chrono::milliseconds budget;

  static Deadline after(std::chrono::milliseconds budget) { return {Clock::now() + budget, budget}; }
};

// What a relay says about itself in the echo of an open or a sync line.
struct RelayInfo {
  std::string relay;    // its name; empty when the echo names none
  std::string version;
  std::optional<std::uint64_t> max_sessions;  // an open echo's; a sync echo names none
};

// One session with a scheduler, directly or through a relay: one request in
// flight at a time, and never an answer that belongs to another request
// (docs/PROTOCOL.md, "What the host side does").
//
// Through a relay, the first exchange opens a session of its own,
// {"ktstats_open":"<16 hex>"}, and bytes before the relay's echo are stale
// and dropped; the open selects the session, so requests follow directly.
// After a request failed to get its answer here (a timeout), the next
// exchange sends the same open again as a sync point, so the late answer is
// dropped before its echo. A relay that does not know sessions (0.1.x)
// forwards the open line and answers it with an scx_stats error or an error
// line of its own: the client then falls back, once, to the sync line
// (a fresh nonce per sync point). The session is closed when the client
// goes, without waiting for the echo.
//
// Without a relay, or with sync off (plain scx_stats lines only), whatever
// is waiting before a request is sent is dropped instead.
//
// After the request, blank lines and repeated echoes are skipped and the
// next line is its answer: scx_stats has no request ids, so a line a
// scheduler sends unasked after that point cannot be told from its answer
// (and is reported as a protocol error when it is not a response).
class StatsClient {
 public:
  // Opens the endpoint. A VMM's socket that is busy with another client
  // (its backlog full: QEMU takes one client at a time) is tried again until
  // the deadline, then reported as busy.
  static Result<std::unique_ptr<StatsClient>> open(const Endpoint& endpoint, bool sync,
                                                   const Interrupt& interrupt,
                                                   const Deadline& deadline);
  // Over a channel already open (tests, or a transport opened elsewhere).
  static std::unique_ptr<StatsClient> over(std::unique_ptr<Channel> channel, Endpoint endpoint,
                                           bool sync, const Interrupt& interrupt);

  StatsClient(const StatsClient&) = delete;
  StatsClient& operator=(const StatsClient&) = delete;
  // Closes the session (see close()).
  ~StatsClient();

  // A sync point with the relay: its echo of our open (or, after the
  // fallback or with sync off, of a fresh sync line), every line before it
  // dropped.
  Result<RelayInfo> sync(const Deadline& deadline);
  // One request line out, its response line back (relay error lines too).
  Result<std::string> exchange(std::string_view line, const Deadline& deadline);
  // A typed request: its args.resp payload, or the typed error.
  Result<boost::json::value> call(const Request& request, const Deadline& deadline);
  // Sends the session's close line, if a session was opened, with one
  // write that never waits: the relay would close it anyway when the host
  // goes, this only says so sooner. Once; the destructor calls it.
  void close();

  // True when the client can find its place again after a failed exchange
  // (a sync point drops the late answer), so a caller may keep it.
  bool resyncs() const { return wire_ != Wire::kPlain && !cut_line_; }

  const Endpoint& endpoint() const { return endpoint_; }
  const std::string& session_id() const { return session_id_; }
  std::uint64_t discarded_lines() const { return discarded_lines_; }

 private:
  // What the client speaks to its peer.
  enum class Wire {
    kPlain,     // scx_stats lines only: a scheduler, or sync off
    kSessions,  // an open session of its own
    kSync,      // the sync line: a relay that does not know sessions
  };
  // How a line read while waiting for an echo ends the wait.
  enum class Verdict {
    kStale,      // dropped; the wait goes on
    kEcho,       // the echo awaited
    kRefused,    // the relay's session_limit error line in answer to our open
    kFallBack,   // an answer to our open from what does not know sessions
    kOpenEcho,   // our open's echo while awaiting a sync echo: it knows sessions after all
  };
  struct Ended {
    Verdict verdict;
    std::string line;
  };

  StatsClient(std::unique_ptr<Channel> channel, Endpoint endpoint, Wire wire,
              const Interrupt& interrupt);
  Result<Ended> send_open(const Deadline& deadline);
  Result<Ended> send_sync(const Deadline& deadline);
  Result<RelayInfo> sync_reached(const std::string& echo);
  Verdict open_verdict(const std::string& line) const;
  Verdict sync_verdict(const std::string& line) const;
  Result<Ended> await_echo(const std::string& request, const Deadline& deadline,
                           Verdict (StatsClient::*judge)(const std::string&) const);
  bool is_repeated_echo(const std::string& line) const;
  Status write_all(std::string_view bytes, const Deadline& deadline);
  Result<std::string> read_line(const Deadline& deadline, Awaited awaited);
  Status wait_for(int fd, short events, const Deadline& deadline, Awaited awaited);
  void discard_stale();

  std::unique_ptr<Channel> channel_;
  Endpoint endpoint_;
  Wire wire_;
  const std::string session_id_;
  bool open_sent_ = false;
  bool sessions_known_ = false;  // an echo of our open came: the relay knows sessions
  bool closed_ = false;
  bool cut_line_ = false;        // a write stopped mid-line: nothing more may follow it
  bool synced_ = false;
  std::string sync_nonce_;  // of the latest sync line
  const Interrupt& interrupt_;
  LineFramer framer_;
  std::uint64_t discarded_lines_ = 0;
};

}  // namespace ktstats::cli
