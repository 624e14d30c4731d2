#include "client/stats_client.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include <spdlog/spdlog.h>

#include "ktstats/json_line.hpp"
#include "ktstats/terminal_text.hpp"
#include "wire/response.hpp"

namespace ktstats::cli {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

// 16 random hex digits: a session id or a sync nonce.
std::string fresh_nonce() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string nonce;
  for (int i = 0; i < 16; ++i) nonce.push_back(kHex[random() % 16]);
  return nonce;
}

bool is_session_limit(const std::string& line) {
  if (line.find(kRelayErrorKey) == std::string::npos) return false;
  auto parsed = parse_json_line(line);
  if (!parsed) return false;
  auto error = decode_relay_error(*parsed);
  return error && error->kind == RelayErrorKind::kSessionLimit;
}

bool is_busy(const Error& error) {
  const auto* transport = std::get_if<Transport>(&error);
  return transport != nullptr && transport->error == EAGAIN;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

int poll_timeout_ms(const Deadline& deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline.at - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left) + 1;
}

}  // namespace

Result<std::unique_ptr<StatsClient>> StatsClient::open(const Endpoint& endpoint, bool sync,
                                                       const Interrupt& interrupt,
                                                       const Deadline& deadline) {
  constexpr auto kBusyRetry = std::chrono::milliseconds(50);
  auto channel = open_endpoint(endpoint);
  // Nothing signals that the other client left: try again, boundedly.
  while (!channel && is_busy(channel.error())) {
    if (Clock::now() + kBusyRetry > deadline.at) {
      return Transport{endpoint.path + " is busy: another client holds the VM's port", EAGAIN};
    }
    pollfd pfd{interrupt.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(kBusyRetry.count())) > 0) return Cancelled{};
    channel = open_endpoint(endpoint);
  }
  if (!channel) return std::move(channel).error();
  spdlog::debug("connected to {}", (*channel)->description());
  return over(std::move(*channel), endpoint, sync, interrupt);
}

std::unique_ptr<StatsClient> StatsClient::over(std::unique_ptr<Channel> channel, Endpoint endpoint,
                                               bool sync, const Interrupt& interrupt) {
  const Wire wire = sync && endpoint.through_relay() ? Wire::kSessions : Wire::kPlain;
  return std::unique_ptr<StatsClient>(
      new StatsClient(std::move(channel), std::move(endpoint), wire, interrupt));
}

StatsClient::StatsClient(std::unique_ptr<Channel> channel, Endpoint endpoint, Wire wire,
                         const Interrupt& interrupt)
    : channel_(std::move(channel)),
      endpoint_(std::move(endpoint)),
      wire_(wire),
      session_id_(wire == Wire::kSessions ? fresh_nonce() : std::string()),
      interrupt_(interrupt) {}

// Here rather than in each command: every way out of a command (an error,
// Ctrl-C, watch dropping a broken connection) closes the session.
StatsClient::~StatsClient() { close(); }

void StatsClient::close() {
  if (closed_) return;
  closed_ = true;
  // After a line cut off mid-way, the close line would join it.
  if (wire_ != Wire::kSessions || !open_sent_ || cut_line_) return;
  const std::string line = encode_control_line(CloseLine{session_id_});
  spdlog::trace("-> {}", escape_for_terminal(line));
  const std::string wire = line + "\n";
  const IoResult written = channel_->write(wire);
  if (written.kind != IoResult::Kind::kDone || written.bytes != wire.size()) {
    spdlog::debug("the close line did not go out whole; the session ends with the connection");
  }
}

Status StatsClient::wait_for(int fd, short events, const Deadline& deadline,
                             Awaited awaited) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {interrupt_.fd(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, poll_timeout_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Transport{"poll", errno};
    if (fds[1].revents != 0) return Cancelled{};
    if (fds[0].revents != 0) return Ok{};
    if (Clock::now() >= deadline.at) return Timeout{deadline.budget, awaited};
  }
}

Status StatsClient::write_all(std::string_view bytes, const Deadline& deadline) {
  const std::size_t whole = bytes.size();
  Status status = Ok{};
  while (!bytes.empty()) {
    const IoResult written = channel_->write(bytes);
    if (written.kind == IoResult::Kind::kDone) {
      bytes.remove_prefix(written.bytes);
      continue;
    }
    if (written.kind == IoResult::Kind::kFailed) {
      status = Transport{"write to " + channel_->description(), written.error};
      break;
    }
    if (auto ready = wait_for(channel_->write_fd(), POLLOUT, deadline,
                              Awaited::kPeerTakingRequest);
        !ready) {
      status = std::move(ready);
      break;
    }
  }
  if (!bytes.empty() && bytes.size() != whole) cut_line_ = true;
  return status;
}

Result<std::string> StatsClient::read_line(const Deadline& deadline, Awaited awaited) {
  char buffer[kReadChunk];
  for (;;) {
    if (auto frame = framer_.next()) {
      if (auto* line = std::get_if<std::string>(&*frame)) {
        spdlog::trace("<- {}", escape_for_terminal(*line, 512));
        return std::move(*line);
      }
      return ResponseTooLarge{std::get<LineTooLong>(*frame).size, kMaxLineBytes};
    }
    if (auto ready = wait_for(channel_->read_fd(), POLLIN, deadline, awaited); !ready) {
      return std::move(ready).error();
    }
    const IoResult read = channel_->read(buffer);
    switch (read.kind) {
      case IoResult::Kind::kDone: framer_.feed(std::string_view(buffer, read.bytes)); break;
      case IoResult::Kind::kWouldBlock: break;
      case IoResult::Kind::kEof:
        return Transport{channel_->description() + " closed the connection while waiting for " +
                         std::string(awaited_text(awaited))};
      case IoResult::Kind::kFailed:
        return Transport{"read from " + channel_->description(), read.error};
    }
  }
}

void StatsClient::discard_stale() {
  char buffer[kReadChunk];
  std::size_t dropped = framer_.partial_bytes();
  while (auto frame = framer_.next()) {
    if (auto* line = std::get_if<std::string>(&*frame)) dropped += line->size() + 1;
  }
  framer_.reset();
  for (;;) {
    const IoResult read = channel_->read(buffer);
    if (read.kind != IoResult::Kind::kDone) break;
    dropped += read.bytes;
  }
  if (dropped > 0) {
    ++discarded_lines_;
    spdlog::debug("discarded {} stale bytes before the request", dropped);
  }
}

// The relay answers every open and sync line, so one whose echo is slow in
// coming is sent again (the same line) each second until the deadline: a
// line lost on the way through a guest's console driver costs a second,
// not the command.
Result<StatsClient::Ended> StatsClient::await_echo(
    const std::string& request, const Deadline& deadline,
    Verdict (StatsClient::*judge)(const std::string&) const) {
  constexpr auto kResendAfter = std::chrono::seconds(1);
  const std::string wire = request + "\n";
  for (;;) {
    spdlog::trace("-> {}", escape_for_terminal(request));
    if (auto written = write_all(wire, deadline); !written) return std::move(written).error();
    const Deadline attempt{std::min(deadline.at, Clock::now() + kResendAfter), deadline.budget};
    for (;;) {
      auto line = read_line(attempt, Awaited::kSyncEcho);
      if (!line) {
        const auto& error = line.error();
        if (std::holds_alternative<ResponseTooLarge>(error)) {
          ++discarded_lines_;
          continue;  // a stale oversize answer
        }
        if (std::holds_alternative<Timeout>(error) && Clock::now() < deadline.at) break;
        return std::move(line).error();
      }
      const Verdict verdict = (this->*judge)(*line);
      if (verdict != Verdict::kStale) return Ended{verdict, std::move(*line)};
      ++discarded_lines_;
      spdlog::debug("discarding a stale line before the echo: {}", line_excerpt(*line));
    }
    spdlog::debug("no echo yet; asking again");
  }
}

StatsClient::Verdict StatsClient::open_verdict(const std::string& line) const {
  if (auto reply = decode_open_reply(line)) {
    return reply->id == session_id_ ? Verdict::kEcho : Verdict::kStale;
  }
  if (is_session_limit(line)) return Verdict::kRefused;
  // Once the relay has echoed our open, all else before the echo is late.
  // Until then, an error answer is how a relay without sessions answers an
  // open line (it forwards it, and the scheduler answers a line that is no
  // request with a non-zero errno; or it answers with an error line of its
  // own). A late answer of an earlier host may look the same; the fallback
  // finds that out (its sync wait sees our open's echo) and opens again.
  if (!sessions_known_ && is_error_answer(line)) return Verdict::kFallBack;
  return Verdict::kStale;
}

StatsClient::Verdict StatsClient::sync_verdict(const std::string& line) const {
  if (auto reply = decode_sync_reply(line); reply && reply->nonce == sync_nonce_) {
    return Verdict::kEcho;
  }
  if (wire_ == Wire::kSessions) {
    if (auto reply = decode_open_reply(line); reply && reply->id == session_id_) {
      return Verdict::kOpenEcho;
    }
  }
  return Verdict::kStale;
}

Result<StatsClient::Ended> StatsClient::send_open(const Deadline& deadline) {
  open_sent_ = true;
  return await_echo(encode_control_line(OpenLine{session_id_}), deadline,
                    &StatsClient::open_verdict);
}

// A fresh nonce for each sync: echoes of an earlier one may still come.
Result<StatsClient::Ended> StatsClient::send_sync(const Deadline& deadline) {
  sync_nonce_ = fresh_nonce();
  return await_echo(encode_sync_request(sync_nonce_), deadline, &StatsClient::sync_verdict);
}

Result<RelayInfo> StatsClient::sync(const Deadline& deadline) {
  synced_ = false;
  // At most twice round: a stale error line taken for the fallback's cue
  // shows itself when our open's echo comes after all.
  while (wire_ == Wire::kSessions) {
    auto opened = send_open(deadline);
    if (!opened) return std::move(opened).error();
    if (opened->verdict == Verdict::kEcho) {
      auto reply = decode_open_reply(opened->line);
      if (!reply) return Protocol{"not an open echo: " + line_excerpt(opened->line)};
      sessions_known_ = true;
      synced_ = true;
      return RelayInfo{std::move(reply->relay), std::move(reply->version), reply->max_sessions};
    }
    if (opened->verdict == Verdict::kRefused) {
      auto refused = decode_response(opened->line);
      if (refused) return Protocol{"not a relay error line: " + line_excerpt(opened->line)};
      return std::move(refused).error();
    }
    spdlog::debug("the open line was answered by {}", line_excerpt(opened->line));
    auto synced = send_sync(deadline);
    if (!synced) return std::move(synced).error();
    if (synced->verdict == Verdict::kOpenEcho) {
      sessions_known_ = true;
      spdlog::debug("the relay knows sessions: that answer was stale; opening again");
      continue;
    }
    spdlog::debug("relay does not know sessions (older than 0.2?); using sync");
    wire_ = Wire::kSync;
    return sync_reached(synced->line);
  }
  auto synced = send_sync(deadline);
  if (!synced) return std::move(synced).error();
  return sync_reached(synced->line);
}

Result<RelayInfo> StatsClient::sync_reached(const std::string& echo) {
  auto reply = decode_sync_reply(echo);
  if (!reply) return Protocol{"not a sync echo: " + line_excerpt(echo)};
  synced_ = true;
  return RelayInfo{std::move(reply->relay), std::move(reply->version), std::nullopt};
}

// A resent open or sync line is answered once more, maybe after the echo
// that ended the wait.
bool StatsClient::is_repeated_echo(const std::string& line) const {
  if (wire_ == Wire::kPlain) return false;
  if (auto reply = decode_open_reply(line)) return reply->id == session_id_;
  if (auto reply = decode_sync_reply(line)) return reply->nonce == sync_nonce_;
  return false;
}

Result<std::string> StatsClient::exchange(std::string_view line, const Deadline& deadline) {
  if (line.size() + 1 > kMaxLineBytes) return RequestTooLarge{line.size() + 1, kMaxLineBytes};
  if (wire_ == Wire::kPlain) {
    discard_stale();
  } else if (!synced_) {
    auto synced = sync(deadline);
    if (!synced) return std::move(synced).error();
  }
  spdlog::trace("-> {}", escape_for_terminal(line, 512));
  std::string wire(line);
  wire.push_back('\n');
  if (auto written = write_all(wire, deadline); !written) {
    synced_ = false;
    return std::move(written).error();
  }
  for (;;) {
    auto answer = read_line(deadline, Awaited::kAnswer);
    // Its answer may still come: the next exchange syncs again to drop it.
    if (!answer) synced_ = false;
    // A blank line is no answer (scx_stats answers are JSON objects).
    if (answer && (is_blank(*answer) || is_repeated_echo(*answer))) {
      ++discarded_lines_;
      continue;
    }
    return answer;
  }
}

Result<boost::json::value> StatsClient::call(const Request& request, const Deadline& deadline) {
  auto line = encode_request(request);
  if (!line) return std::move(line).error();
  auto answer = exchange(*line, deadline);
  if (!answer) return std::move(answer).error();
  auto payload = decode_resp_payload(*answer);
  if (payload) return payload;
  // A scheduler's refusal keeps what was asked: its hint depends on it.
  Error error = std::move(payload).error();
  if (auto* refused = std::get_if<SchedulerError>(&error)) refused->asked = {request.req, request.args};
  return error;
}

}  // namespace ktstats::cli
