#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
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

// One session with a scheduler, directly or through a relay: one request in
// flight at a time, and never an answer that belongs to another request.
// Through a relay, the first exchange syncs: bytes before the relay's echo
// of a fresh nonce are stale and dropped. Without sync, whatever is waiting
// before a request is sent is dropped instead. After the request, blank
// lines are skipped and the next line is its answer: scx_stats has no
// request ids, so a line a scheduler sends unasked after that point cannot
// be told from its answer (and is reported as a protocol error when it is
// not a response).
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

  // The relay's echo (with its version) for a fresh nonce.
  Result<SyncReply> sync(const Deadline& deadline);
  // One request line out, its response line back (relay error lines too).
  Result<std::string> exchange(std::string_view line, const Deadline& deadline);
  // A typed request: its args.resp payload, or the typed error.
  Result<boost::json::value> call(const Request& request, const Deadline& deadline);

  const Endpoint& endpoint() const { return endpoint_; }
  std::uint64_t discarded_lines() const { return discarded_lines_; }

 private:
  StatsClient(std::unique_ptr<Channel> channel, Endpoint endpoint, bool sync,
              const Interrupt& interrupt);
  Status write_all(std::string_view bytes, const Deadline& deadline);
  Result<std::string> read_line(const Deadline& deadline, Awaited awaited);
  Status wait_for(int fd, short events, const Deadline& deadline, Awaited awaited);
  void discard_stale();

  std::unique_ptr<Channel> channel_;
  Endpoint endpoint_;
  bool sync_;
  bool synced_ = false;
  std::string sync_nonce_;  // of the latest sync
  const Interrupt& interrupt_;
  LineFramer framer_;
  std::uint64_t discarded_lines_ = 0;
};

}  // namespace ktstats::cli
