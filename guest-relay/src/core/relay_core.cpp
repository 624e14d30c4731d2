#include "core/relay_core.hpp"

#include <utility>

#include "ktstats/duration.hpp"
#include "ktstats/json_line.hpp"
#include "logger.hpp"

namespace ktstats::relay {
namespace {

// Bytes of an unfinished line a connection may hold while none of its
// requests is in flight.
constexpr std::size_t kMaxStrayBytes = 4096;


bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

RelayCore::RelayCore(RelayLimits limits, RelayTiming timing, std::string version)
    : limits_(limits),
      timing_(timing),
      version_(std::move(version)),
      host_framer_(limits.max_line),
      sessions_(limits.max_sessions),
      links_(limits.max_line) {}

// ---------------------------------------------------------------- host input

bool RelayCore::host_backed_up() const {
  return host_output_.pending_bytes() > limits_.host_output_high_water;
}

bool RelayCore::answers_backed_up() const { return queue_.answers() >= limits_.max_queued_answers; }

bool RelayCore::wants_host_input() const {
  return !host_framer_.has_unscanned() && !host_backed_up() && !answers_backed_up();
}

// Lines are taken as views of the read buffer; what is left when the host
// output backs up is copied, the buffer being the next read's.
void RelayCore::on_host_bytes(Clock::time_point now, std::string_view bytes) {
  host_framer_.feed_view(bytes);
  take_host_lines(now);
  host_framer_.keep_unscanned();
}

void RelayCore::take_host_lines(Clock::time_point now) {
  while (!host_backed_up() && !answers_backed_up()) {
    auto frame = host_framer_.next_view();
    if (!frame) break;
    if (const auto* line = std::get_if<std::string_view>(&*frame)) {
      take_line(*line);
    } else {
      ++counters_.requests;
      queue_.push_answer(selected_.value_or(kNoLink),
                         encode_relay_error(RelayErrorKind::kRequestTooLarge,
                                            "request line exceeds " +
                                                std::to_string(limits_.max_line) + " bytes"));
    }
    // Started at once, so that what the queue holds past this point is
    // only what waits behind the request in progress.
    pump(now);
  }
  pump(now);
}

void RelayCore::take_line(std::string_view line) {
  if (is_blank(line)) return;
  auto control = decode_control_line(line);
  if (!control) {
    ++counters_.requests;
    queue_request(line);
  } else if (auto* sync = std::get_if<SyncLine>(&*control)) {
    on_sync(std::move(sync->nonce));
  } else if (auto* open = std::get_if<OpenLine>(&*control)) {
    on_open(std::move(open->id));
  } else if (auto* select = std::get_if<SelectLine>(&*control)) {
    on_select(select->id);
  } else if (auto* close = std::get_if<CloseLine>(&*control)) {
    on_close(std::move(close->id));
  }
}

// ktstats 0.1.x syncs first thing on each connection with a nonce of its
// own, and sends the same line again while the echo is slow to come. A new
// nonce is therefore a new host on the implicit session, even when the port
// never showed the last one leave (a virtio port does not, if the next host
// attaches before the relay runs): that host must get its own scheduler
// connection and nothing of what the last one asked for.
void RelayCore::on_sync(std::string nonce) {
  ++counters_.requests;
  if (!implicit_nonce_.empty() && nonce != implicit_nonce_) replace_implicit_session();
  implicit_nonce_ = nonce;
  selected_ = kImplicitLink;
  connect_early(kImplicitLink);
  queue_.push_answer(kImplicitLink, encode_sync_reply({std::move(nonce), version_}));
}

// Only the implicit session's work goes: explicit sessions on the port are
// a host's that speaks sessions, and may well be the one relaying this sync
// line for an older client. The host output goes too when all of it is the
// implicit session's; a line cut short on the port is then ended, so the
// echo starts a line of its own.
void RelayCore::replace_implicit_session() {
  ++counters_.sessions_replaced_at_sync;
  logger::debug("a sync line with a new nonce: a new host on the implicit session");
  if (head_ != Head::kIdle && queue_.front().link == kImplicitLink) {
    head_ = Head::kIdle;
    queue_.pop_front();
  }
  queue_.erase_waiting_of(kImplicitLink);
  links_.drop(kImplicitLink);
  if (host_output_.only_implicit_pending()) host_output_.discard_for_new_host();
}

void RelayCore::on_open(std::string id) {
  ++counters_.requests;
  std::optional<LinkId> slot = sessions_.find(id);
  if (!slot) {
    slot = sessions_.open(id);
    if (!slot) {
      queue_.push_answer(kNoLink, encode_relay_error(RelayErrorKind::kSessionLimit,
                                                     "session limit reached (" +
                                                         std::to_string(limits_.max_sessions) +
                                                         " sessions open)"));
      select_none(std::move(id));
      return;
    }
    ++counters_.sessions_opened;
    logger::debug("session {} opened on link {}", id, *slot);
  }
  selected_ = *slot;
  connect_early(*slot);
  queue_.push_answer(*slot, encode_open_reply({std::move(id), version_, limits_.max_sessions}));
}

void RelayCore::on_select(const std::string& id) {
  if (auto slot = sessions_.find(id)) {
    selected_ = *slot;
  } else {
    select_none(id);
  }
}

// The session's earlier requests are answered first; its slot is given up
// only when the close reaches the head of the queue.
void RelayCore::on_close(std::string id) {
  ++counters_.requests;
  const auto slot = sessions_.find(id);
  if (!slot) {
    queue_.push_answer(kNoLink, encode_close_reply(id));
    return;
  }
  sessions_.close(*slot);
  if (selected_ == slot) select_none(id);
  queue_.push_close(*slot, std::move(id));
}

void RelayCore::select_none(std::string id) {
  selected_.reset();
  unselected_ = std::move(id);
}

void RelayCore::queue_request(std::string_view line) {
  if (!selected_) {
    queue_.push_answer(kNoLink, encode_relay_error(RelayErrorKind::kNoSession,
                                                   "session " + unselected_ + " is not open"));
    return;
  }
  if (queue_.waiting_requests(*selected_) >= limits_.max_queued) {
    queue_.push_answer(
        *selected_, encode_relay_error(RelayErrorKind::kQueueFull,
                                       "relay queue full (" + std::to_string(limits_.max_queued) +
                                           " requests waiting)"));
    return;
  }
  if (queue_.waiting_request_bytes() + line.size() > limits_.max_queued_bytes) {
    queue_.push_answer(
        *selected_, encode_relay_error(RelayErrorKind::kQueueFull,
                                       "relay queue full (requests waiting would hold more than " +
                                           std::to_string(limits_.max_queued_bytes) + " bytes)"));
    return;
  }
  queue_.push_request(*selected_, line);
}

// ---------------------------------------------------------------- the queue

void RelayCore::pump(Clock::time_point now) {
  while (!queue_.empty() && head_ == Head::kIdle && !host_backed_up()) {
    WorkEntry& head = queue_.front();
    switch (head.kind) {
      case WorkEntry::Kind::kRequest:
        start_head(now);
        break;
      case WorkEntry::Kind::kAnswer:
        emit(head.link, head.line);
        if (--head.repeat == 0) queue_.pop_front();
        break;
      case WorkEntry::Kind::kClose:
        close_head_session();
        break;
    }
  }
}

// The head request goes out now if its session's connection is up, or
// waits for the connection: one that is on its way, or a new one.
void RelayCore::start_head(Clock::time_point now) {
  const LinkId id = queue_.front().link;
  queue_.start_front();
  head_since_ = now;
  head_ = Head::kAwaitingConnect;
  head_resent_ = false;
  switch (links_.state(id)) {
    case LinkTable::State::kConnected:
      send_head(now);
      break;
    case LinkTable::State::kDisconnected:
      links_.connect(id, timing_.scheduler_wait.count() > 0);
      break;
    case LinkTable::State::kConnecting:
    case LinkTable::State::kWaiting:
      break;
  }
}

void RelayCore::send_head(Clock::time_point now) {
  WorkEntry& head = queue_.front();
  links_.send(head.link, head.line);
  head.line.clear();  // its room is kept for the next request
  head_ = Head::kInFlight;
  head_since_ = now;
}

void RelayCore::finish_head(LinkId owner, std::string line) {
  head_ = Head::kIdle;
  queue_.pop_front();
  emit(owner, std::move(line));
}

// The scheduler's answer goes into the host output, copied once; one that
// came in pieces and that nothing waits before is swapped in, not copied.
void RelayCore::answer_head(LinkId owner, std::string_view line, LineFramer& framer) {
  head_ = Head::kIdle;
  queue_.pop_front();
  const bool explicit_session = owner != kImplicitLink;
  if (framer.view_is_held() && host_output_.empty()) {
    host_output_.adopt([&framer](std::string& buffer) { framer.take_held_line(buffer); },
                       explicit_session);
  } else {
    host_output_.append_copy(line, explicit_session);
  }
}

void RelayCore::close_head_session() {
  const LinkId id = queue_.front().link;
  std::string closed_id = std::move(queue_.front().line);
  links_.close(id);
  sessions_.free(id);
  logger::debug("session {} closed on link {}", closed_id, id);
  queue_.pop_front();
  emit(id, encode_close_reply(closed_id));
}

bool RelayCore::head_is(LinkId id, Head state) const {
  return head_ == state && queue_.front().link == id;
}

// A host opens or syncs just before its first request. Connecting now,
// when the socket is there, lets a line that the scheduler sends on accept
// arrive while nothing is in flight, where it is dropped, rather than be
// taken for that request's answer. It never waits for an absent socket:
// the echo is not held back by it.
void RelayCore::connect_early(LinkId id) {
  if (links_.state(id) == LinkTable::State::kDisconnected) links_.connect(id, false);
}

// ---------------------------------------------------------------- links

void RelayCore::on_link_connected(Clock::time_point now, LinkId id) {
  if (!links_.connecting(id)) {
    logger::debug("link {}: a connect report for no connect asked for", id);
    return;
  }
  links_.at(id).state = LinkTable::State::kConnected;
  if (head_is(id, Head::kAwaitingConnect)) send_head(now);
}

void RelayCore::on_link_failed(Clock::time_point now, LinkId id, std::string reason) {
  if (!links_.connecting(id)) return;
  const bool could_wait = links_.at(id).connect_may_wait;
  links_.reset(id);
  if (!head_is(id, Head::kAwaitingConnect)) return;  // an early connect: silent
  if (!could_wait && timing_.scheduler_wait.count() > 0) {
    // The early connect may not wait; the request may.
    head_since_ = now;
    links_.connect(id, true);
    return;
  }
  finish_head(id, encode_relay_error(RelayErrorKind::kNoScheduler, reason));
  pump(now);
}

void RelayCore::on_link_waiting(LinkId id, std::string reason) {
  if (links_.state(id) != LinkTable::State::kConnecting) return;
  links_.at(id).state = LinkTable::State::kWaiting;
  links_.at(id).wait_reason = std::move(reason);
}

void RelayCore::on_link_bytes(Clock::time_point now, LinkId id, std::string_view bytes) {
  if (links_.state(id) != LinkTable::State::kConnected) return;
  LinkTable::Link& source = links_.at(id);
  source.framer.feed_view(bytes);
  while (auto frame = source.framer.next_view()) {
    if (const auto* line = std::get_if<std::string_view>(&*frame)) {
      // A blank line is no answer, whenever it comes.
      if (is_blank(*line)) continue;
      if (head_is(id, Head::kInFlight)) {
        answer_head(id, *line, source.framer);
        continue;
      }
      // Nobody on this connection asked: it is no answer to the next
      // request, which has not been sent yet. Before the first request it
      // is a greeting, harmless; after an answer it is a second one, and
      // the next could come as late and be taken for the next request's
      // answer: only a new connection is known to be in step.
      ++counters_.stray_scheduler_lines;
      logger::debug("link {}: dropped a line sent with no request in flight: {}", id,
                    line_excerpt(*line));
      if (source.carried_request) {
        links_.drop(id);
        break;
      }
      continue;
    }
    // The rest of that line may never end, and the next answer would be
    // lost in it: only a new connection is known to be in step.
    if (head_is(id, Head::kInFlight)) {
      finish_head(id, encode_relay_error(
                          RelayErrorKind::kOversize,
                          "response line exceeds " + std::to_string(limits_.max_line) + " bytes"));
    } else {
      ++counters_.stray_scheduler_lines;
    }
    links_.drop(id);
    break;
  }
  // Bytes nobody asked for are not kept up to the line cap on every idle
  // connection (a hostile scheduler times the session limit): a greeting
  // longer than this is no greeting.
  if (links_.state(id) == LinkTable::State::kConnected && !head_is(id, Head::kInFlight) &&
      source.framer.partial_bytes() > kMaxStrayBytes) {
    ++counters_.stray_scheduler_lines;
    links_.drop(id);
  }
  pump(now);
}

// Only a request the scheduler may have seen is answered `closed`. One of
// which no byte went out never reached it: the close came first, whatever
// order the relay heard of the two in (a scheduler restarted between
// requests), so it goes over a new connection, once; so do the requests
// waiting behind it.
void RelayCore::on_link_closed(Clock::time_point now, LinkId id) {
  if (links_.state(id) == LinkTable::State::kDisconnected) return;
  std::optional<std::string> unsent;
  if (head_is(id, Head::kInFlight) && !head_resent_) unsent = links_.take_unsent(id);
  links_.reset(id);
  if (unsent) {
    resend_head(now, std::move(*unsent));
  } else if (head_ != Head::kIdle && queue_.front().link == id) {
    finish_head(id, encode_relay_error(RelayErrorKind::kClosed, "scheduler closed the connection"));
  }
  pump(now);
}

void RelayCore::resend_head(Clock::time_point now, std::string line) {
  ++counters_.requests_resent;
  logger::debug("link {}: the scheduler closed the connection before the request went out; "
                "connecting again",
                queue_.front().link);
  queue_.front().line = std::move(line);
  head_resent_ = true;
  head_ = Head::kAwaitingConnect;
  head_since_ = now;
  links_.connect(queue_.front().link, timing_.scheduler_wait.count() > 0);
}

void RelayCore::link_output_written(LinkId id, std::size_t bytes) {
  links_.output_written(id, bytes);
}

// ---------------------------------------------------------------- time

void RelayCore::on_time(Clock::time_point now) {
  const auto deadline = next_deadline();
  if (!deadline || now < *deadline) return;
  const LinkId id = queue_.front().link;
  if (head_ == Head::kInFlight) {
    // A late answer must never be taken for the next request's: drop the
    // connection it would arrive on. The one line the default log level
    // records (ktstats-relay(8)): a scheduler too slow is worth knowing.
    logger::warn("scheduler gave no response within {}; dropping its connection",
                 format_duration(timing_.response_timeout));
    links_.drop(id);
    finish_head(id, encode_relay_error(RelayErrorKind::kTimeout,
                                       "no response from the scheduler within " +
                                           format_duration(timing_.response_timeout)));
  } else {
    std::string reason = std::move(links_.at(id).wait_reason);
    links_.drop(id);
    finish_head(id, encode_relay_error(
                        RelayErrorKind::kNoScheduler,
                        reason + " (waited " + format_duration(timing_.scheduler_wait) + ")"));
  }
  pump(now);
}

std::optional<Clock::time_point> RelayCore::next_deadline() const {
  if (head_ == Head::kInFlight) return head_since_ + timing_.response_timeout;
  if (head_ == Head::kAwaitingConnect &&
      links_.state(queue_.front().link) == LinkTable::State::kWaiting) {
    return head_since_ + timing_.scheduler_wait;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- outputs

void RelayCore::emit(LinkId owner, std::string line) {
  host_output_.append(std::move(line), owner != kImplicitLink);
}

std::string_view RelayCore::host_output() const { return host_output_.pending(); }

void RelayCore::host_output_written(Clock::time_point now, std::size_t bytes) {
  host_output_.written(bytes);
  take_host_lines(now);
}

std::vector<LinkCommand> RelayCore::take_link_commands() { return links_.take_commands(); }

bool RelayCore::has_link_commands() const { return links_.has_commands(); }

std::string_view RelayCore::link_output(LinkId id) const { return links_.output(id); }

void RelayCore::on_host_gone() {
  links_.drop_all();
  sessions_.clear();
  queue_.clear();
  head_ = Head::kIdle;
  host_framer_.reset();
  host_output_.clear();
  selected_ = kImplicitLink;
  unselected_.clear();
  implicit_nonce_.clear();
}

bool RelayCore::idle() const {
  return queue_.empty() && head_ == Head::kIdle && host_output_.empty();
}

std::size_t RelayCore::open_sessions() const { return sessions_.open_count(); }

bool RelayCore::holds_link(LinkId link) const {
  return link == kImplicitLink || sessions_.is_taken(link);
}

RelayCore::QueueFootprint RelayCore::queue_footprint(std::optional<LinkId> link) const {
  QueueFootprint footprint;
  queue_.for_each([&](const WorkEntry& entry) {
    if (link && entry.link != *link) return;
    ++footprint.entries;
    footprint.bytes += entry.line.size();
  });
  return footprint;
}

}  // namespace ktstats::relay
