#include "core/relay_core.hpp"

#include <spdlog/spdlog.h>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats::relay {
namespace {

constexpr std::size_t kCompactAfter = 64 * 1024;

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

RelayCore::RelayCore(RelayEffects& effects, RelayLimits limits, std::string version)
    : effects_(effects),
      limits_(limits),
      version_(std::move(version)),
      host_framer_(limits.max_line),
      scheduler_framer_(limits.max_line) {}

bool RelayCore::host_backed_up() const {
  return host_output_.size() - host_output_sent_ > limits_.host_output_high_water;
}

bool RelayCore::wants_host_input() const { return !host_framer_.has_frame() && !host_backed_up(); }

void RelayCore::on_host_bytes(std::string_view bytes) {
  host_framer_.feed(bytes);
  take_host_lines();
}

void RelayCore::take_host_lines() {
  while (!host_backed_up()) {
    auto frame = host_framer_.next();
    if (!frame) break;
    if (std::holds_alternative<LineTooLong>(*frame)) {
      ++counters_.requests;
      accept_request({Kind::kAnswer,
                      encode_relay_error(RelayErrorKind::kRequestTooLarge,
                                         "request line exceeds " +
                                             std::to_string(limits_.max_line) + " bytes")});
    } else {
      auto& line = std::get<std::string>(*frame);
      if (is_blank(line)) continue;
      ++counters_.requests;
      if (auto nonce = decode_sync_request(line)) {
        on_sync(std::move(*nonce));
      } else {
        accept_request({Kind::kForward, std::move(line)});
      }
    }
    // Started at once, so that what the queue holds past this point is
    // only what waits behind the request in progress.
    pump();
  }
  pump();
}

// ktstats syncs first thing on each connection with a nonce of its own,
// and sends the same line again while the echo is slow to come. A new nonce
// is therefore a new host, even when the port never showed the last one
// leave (a virtio port does not, if the next host attaches before the relay
// runs): that host must get its own scheduler connection and nothing of
// what the last one asked for.
void RelayCore::on_sync(std::string nonce) {
  if (!session_nonce_.empty() && nonce != session_nonce_) replace_session();
  session_nonce_ = nonce;
  connect_early();
  accept_request({Kind::kAnswer, encode_sync_reply({std::move(nonce), version_})});
}

// Like end_session(), but the host input that follows the sync line is the
// new session's, and so is the port: a line cut short on it is ended, so
// the echo starts a line of its own.
void RelayCore::replace_session() {
  ++counters_.sessions_replaced_at_sync;
  spdlog::debug("a sync line with a new nonce: a new host session");
  drop_session_work();
  host_output_.clear();
  host_output_sent_ = 0;
  if (host_mid_line_) host_output_.push_back('\n');
  host_mid_line_ = false;
}

// A host syncs just before its first request. Connecting now, when the
// socket is there, lets a line that the scheduler sends on accept arrive
// while nothing is in flight, where it is dropped, rather than be taken for
// that request's answer.
void RelayCore::connect_early() {
  if (scheduler_connected_ || scheduler_connecting_ || in_flight_) return;
  const auto connect = effects_.connect_scheduler(false);
  if (connect.outcome == RelayEffects::Connect::Outcome::kConnected) scheduler_connected_ = true;
}

// Whether the head of the queue is being handled: sent and awaiting its
// answer, or awaiting the scheduler's socket. After pump() it always is,
// unless the queue is empty or the host's output is backed up.
bool RelayCore::head_in_progress() const { return in_flight_ || scheduler_connecting_; }

void RelayCore::accept_request(Pending pending) {
  const std::size_t head_bytes = head_in_progress() ? queue_.front().line.size() : 0;
  const std::size_t waiting = queued_count_ - (head_in_progress() ? 1 : 0);
  const std::size_t waiting_bytes = queued_bytes_ - head_bytes;
  if (waiting >= limits_.max_queued) {
    reject_request("relay queue full (" + std::to_string(limits_.max_queued) +
                   " requests waiting)");
    return;
  }
  if (waiting_bytes + pending.line.size() > limits_.max_queued_bytes) {
    reject_request("relay queue full (requests waiting would hold more than " +
                   std::to_string(limits_.max_queued_bytes) + " bytes)");
    return;
  }
  ++queued_count_;
  queued_bytes_ += pending.line.size();
  queue_.push_back(std::move(pending));
}

void RelayCore::reject_request(std::string reason) {
  if (!queue_.empty() && queue_.back().kind == Kind::kRejects && queue_.back().line == reason) {
    ++queue_.back().repeat;
    return;
  }
  queue_.push_back({Kind::kRejects, std::move(reason)});
}

void RelayCore::pump() {
  while (!queue_.empty() && !in_flight_ && !scheduler_connecting_ && !host_backed_up()) {
    Pending& head = queue_.front();
    switch (head.kind) {
      case Kind::kForward:
        if (forward_head()) return;
        break;
      case Kind::kAnswer:
        emit(head.line);
        pop_head();
        break;
      case Kind::kRejects:
        emit(encode_relay_error(RelayErrorKind::kQueueFull, head.line));
        if (--head.repeat == 0) queue_.pop_front();
        break;
    }
  }
}

// Sends the head request, or starts waiting for the scheduler; false when
// it was answered with an error instead.
bool RelayCore::forward_head() {
  if (!scheduler_connected_) {
    auto connect = effects_.connect_scheduler(true);
    switch (connect.outcome) {
      case RelayEffects::Connect::Outcome::kFailed:
        emit(encode_relay_error(RelayErrorKind::kNoScheduler, connect.failure));
        pop_head();
        return false;
      case RelayEffects::Connect::Outcome::kWaiting:
        scheduler_connecting_ = true;
        return true;
      case RelayEffects::Connect::Outcome::kConnected:
        scheduler_connected_ = true;
        break;
    }
  }
  send_head();
  return true;
}

void RelayCore::send_head() {
  effects_.send_to_scheduler(queue_.front().line);
  in_flight_ = true;
  effects_.start_response_timer();
}

void RelayCore::on_scheduler_connected() {
  if (!scheduler_connecting_) return;
  scheduler_connecting_ = false;
  scheduler_connected_ = true;
  send_head();
}

void RelayCore::on_scheduler_unavailable(const std::string& reason) {
  if (!scheduler_connecting_) return;
  scheduler_connecting_ = false;
  emit(encode_relay_error(RelayErrorKind::kNoScheduler, reason));
  pop_head();
  pump();
}

void RelayCore::pop_head() {
  const Pending& head = queue_.front();
  if (head.kind != Kind::kRejects) {
    --queued_count_;
    queued_bytes_ -= head.line.size();
  }
  queue_.pop_front();
}

void RelayCore::on_scheduler_bytes(std::string_view bytes) {
  scheduler_framer_.feed(bytes);
  while (auto frame = scheduler_framer_.next()) {
    if (auto* line = std::get_if<std::string>(&*frame)) {
      // A blank line is no answer, whenever it comes.
      if (is_blank(*line)) continue;
      if (!in_flight_) {
        // Nobody asked (a second answer, or noise): it is no answer to the
        // next request, which has not been sent yet.
        ++counters_.stray_scheduler_lines;
        spdlog::debug("dropped a line the scheduler sent with no request in flight: {}",
                      line_excerpt(*line));
        continue;
      }
      answer_in_flight(std::move(*line));
      continue;
    }
    // The rest of that line may never end, and the next answer would be
    // lost in it: only a new connection is known to be in step.
    if (in_flight_) {
      fail_in_flight(RelayErrorKind::kOversize,
                     "response line exceeds " + std::to_string(limits_.max_line) + " bytes");
    } else {
      ++counters_.stray_scheduler_lines;
    }
    drop_scheduler();
    break;
  }
  pump();
}

void RelayCore::answer_in_flight(std::string line) {
  effects_.stop_response_timer();
  in_flight_ = false;
  emit(std::move(line));
  pop_head();
}

void RelayCore::fail_in_flight(RelayErrorKind kind, const std::string& reason) {
  effects_.stop_response_timer();
  in_flight_ = false;
  emit(encode_relay_error(kind, reason));
  pop_head();
}

void RelayCore::on_scheduler_closed() {
  const bool was_in_flight = in_flight_;
  drop_scheduler();
  if (!was_in_flight) return;
  const std::string reason = "scheduler closed the connection";
  fail_in_flight(RelayErrorKind::kClosed, reason);
  // The queued requests were meant for that scheduler connection.
  for (Pending& pending : queue_) {
    if (pending.kind != Kind::kForward) continue;
    queued_bytes_ -= pending.line.size();
    pending = {Kind::kAnswer, encode_relay_error(RelayErrorKind::kClosed, reason)};
    queued_bytes_ += pending.line.size();
  }
  pump();
}

void RelayCore::on_response_timeout(std::string_view after) {
  if (!in_flight_) return;
  // A late answer must never be taken for the next request's: drop the
  // connection it would arrive on.
  drop_scheduler();
  fail_in_flight(RelayErrorKind::kTimeout,
                 "no response from the scheduler within " + std::string(after));
  pump();
}

void RelayCore::drop_scheduler() {
  if (!scheduler_connected_ && !scheduler_connecting_) return;
  effects_.close_scheduler();
  scheduler_connected_ = false;
  scheduler_connecting_ = false;
  scheduler_framer_.reset();
}

void RelayCore::emit(std::string line) {
  // With nothing waiting, the line becomes the output: a long answer is
  // not copied once more on its way to the port.
  if (host_output_.empty()) {
    host_output_.swap(line);
  } else {
    host_output_.append(line);
  }
  host_output_.push_back('\n');
}

std::string_view RelayCore::host_output() const {
  return std::string_view(host_output_).substr(host_output_sent_);
}

void RelayCore::host_output_written(std::size_t bytes) {
  host_output_sent_ += bytes;
  if (bytes > 0) host_mid_line_ = host_output_[host_output_sent_ - 1] != '\n';
  if (host_output_sent_ == host_output_.size()) {
    host_output_.clear();
    host_output_sent_ = 0;
  } else if (host_output_sent_ > kCompactAfter && host_output_sent_ * 2 > host_output_.size()) {
    host_output_.erase(0, host_output_sent_);
    host_output_sent_ = 0;
  }
  take_host_lines();
}

void RelayCore::end_session() {
  drop_session_work();
  host_framer_.reset();
  host_output_.clear();
  host_output_sent_ = 0;
  host_mid_line_ = false;
  session_nonce_.clear();
}

// The requests in progress and waiting, and the scheduler connection they
// were meant for.
void RelayCore::drop_session_work() {
  if (in_flight_) effects_.stop_response_timer();
  in_flight_ = false;
  drop_scheduler();
  queue_.clear();
  queued_count_ = 0;
  queued_bytes_ = 0;
}

bool RelayCore::idle() const {
  return queue_.empty() && !in_flight_ && !scheduler_connecting_ && host_output_.empty();
}

}  // namespace ktstats::relay
