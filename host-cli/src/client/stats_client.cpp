#include "client/stats_client.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include <spdlog/spdlog.h>

#include "ktstats/json_line.hpp"
#include "wire/response.hpp"
#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

std::string fresh_nonce() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string nonce;
  for (int i = 0; i < 16; ++i) nonce.push_back(kHex[random() % 16]);
  return nonce;
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
  const bool relay_sync = sync && endpoint.through_relay();
  return std::unique_ptr<StatsClient>(
      new StatsClient(std::move(channel), std::move(endpoint), relay_sync, interrupt));
}

StatsClient::StatsClient(std::unique_ptr<Channel> channel, Endpoint endpoint, bool sync,
                         const Interrupt& interrupt)
    : channel_(std::move(channel)),
      endpoint_(std::move(endpoint)),
      sync_(sync),
      interrupt_(interrupt) {}

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
  while (!bytes.empty()) {
    const IoResult written = channel_->write(bytes);
    if (written.kind == IoResult::Kind::kDone) {
      bytes.remove_prefix(written.bytes);
      continue;
    }
    if (written.kind == IoResult::Kind::kFailed) {
      return Transport{"write to " + channel_->description(), written.error};
    }
    if (auto ready = wait_for(channel_->write_fd(), POLLOUT, deadline,
                              Awaited::kPeerTakingRequest);
        !ready) {
      return ready;
    }
  }
  return Ok{};
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

// The relay answers every sync line, so one whose echo is slow in coming is
// sent again (same nonce) each second until the deadline: a line lost on
// the way through a guest's console driver costs a second, not the command.
Result<SyncReply> StatsClient::sync(const Deadline& deadline) {
  constexpr auto kResendAfter = std::chrono::seconds(1);
  // A fresh nonce for each sync: echoes from an earlier one may still come.
  sync_nonce_ = fresh_nonce();
  const std::string line = encode_sync_request(sync_nonce_) + "\n";
  for (;;) {
    spdlog::trace("-> {}", escape_for_terminal(line.substr(0, line.size() - 1)));
    if (auto written = write_all(line, deadline); !written) return std::move(written).error();
    const Deadline attempt{std::min(deadline.at, Clock::now() + kResendAfter), deadline.budget};
    for (;;) {
      auto reply_line = read_line(attempt, Awaited::kSyncEcho);
      if (!reply_line) {
        const auto& error = reply_line.error();
        if (std::holds_alternative<ResponseTooLarge>(error)) {
          ++discarded_lines_;
          continue;  // a stale oversize answer
        }
        if (std::holds_alternative<Timeout>(error) && Clock::now() < deadline.at) break;
        return std::move(reply_line).error();
      }
      if (auto reply = decode_sync_reply(*reply_line); reply && reply->nonce == sync_nonce_) {
        synced_ = true;
        return *reply;
      }
      ++discarded_lines_;
      spdlog::debug("discarding a stale line before the sync echo: {}",
                    line_excerpt(*reply_line));
    }
    spdlog::debug("no sync echo yet; asking again");
  }
}

Result<std::string> StatsClient::exchange(std::string_view line, const Deadline& deadline) {
  if (line.size() + 1 > kMaxLineBytes) return RequestTooLarge{line.size() + 1, kMaxLineBytes};
  if (sync_ && !synced_) {
    auto synced = sync(deadline);
    if (!synced) return std::move(synced).error();
  } else if (!sync_) {
    discard_stale();
  }
  spdlog::trace("-> {}", escape_for_terminal(line, 512));
  std::string wire(line);
  wire.push_back('\n');
  if (auto written = write_all(wire, deadline); !written) return std::move(written).error();
  for (;;) {
    auto answer = read_line(deadline, Awaited::kAnswer);
    // Its answer may still come: the next exchange syncs again to drop it.
    if (!answer) synced_ = false;
    // A blank line is no answer (scx_stats answers are JSON objects), nor
    // is an echo of a sync line sent again.
    if (answer && (is_blank(*answer) || (!sync_nonce_.empty() && decode_sync_reply(*answer)))) {
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
  return decode_resp_payload(*answer);
}

}  // namespace ktstats::cli
