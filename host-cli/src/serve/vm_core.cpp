#include "serve/vm_core.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "ktstats/relay_line.hpp"
#include "ktstats/terminal_text.hpp"
#include "ktstats/utf8.hpp"
#include "serve/scx_answer.hpp"
#include "wire/response.hpp"

namespace ktstats::serve {
namespace {

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::string_view control_key(const ControlLine& line) {
  switch (line.index()) {
    case 0: return kSyncKey;
    case 1: return kOpenKey;
    case 2: return kSelectKey;
    default: return kCloseKey;
  }
}

std::string seconds_text(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// 12 random hex digits and a dash. Falls back to the clock's nanoseconds
// where getrandom cannot answer (then still distinct between processes).
std::string random_id_prefix() {
  std::array<unsigned char, 6> bytes{};
  if (::getrandom(bytes.data(), bytes.size(), GRND_NONBLOCK) != static_cast<ssize_t>(bytes.size())) {
    auto ticks = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
    for (auto& byte : bytes) {
      byte = static_cast<unsigned char>(ticks);
      ticks >>= 8;
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string prefix;
  for (const unsigned char byte : bytes) {
    prefix.push_back(kHex[byte >> 4]);
    prefix.push_back(kHex[byte & 0xf]);
  }
  return prefix + "-";
}

}  // namespace

VmCore::VmCore(std::string vm_name, CoreLimits limits, std::optional<std::string> id_prefix)
    : name_(std::move(vm_name)),
      limits_(limits),
      id_prefix_(id_prefix ? std::move(*id_prefix) : random_id_prefix()),
      fault_{ENOTCONN, name_ + ": not connected to the VM yet"},
      vm_framer_(limits.max_line) {}

// --- clients ---

void VmCore::on_client_attached(Clock::time_point now, ClientId id) {
  std::size_t active = 0;
  for (const auto& [_, client] : clients_) active += client.closing ? 0 : 1;
  auto& client = clients_.try_emplace(id, limits_.max_line).first->second;
  changed_.push_back(id);
  if (active < limits_.max_clients) return;
  client.closing = true;
  answer_now(now, id, client,
             error_answer(EUSERS, name_ + ": too many clients (at most " +
                                      std::to_string(limits_.max_clients) +
                                      " at once); try again later"));
  spdlog::warn("{}: a client refused: {} clients already", name_, limits_.max_clients);
}

void VmCore::on_client_bytes(Clock::time_point now, ClientId id, std::string_view bytes) {
  Client* client = find(id);
  if (client == nullptr || client->closing) return;
  client->framer.feed(bytes);
  take_lines(now, id);
  finish(now);
}

// A client's lines are taken while it is within its bounds; the rest wait
// in its framer (at most one read's worth) until its answers go out, so
// even lines serve answers itself cannot grow its output past them.
void VmCore::take_lines(Clock::time_point now, ClientId id) {
  changed_.push_back(id);
  for (;;) {
    Client* client = find(id);
    if (client == nullptr || !client->framer.has_frame() || !within_bounds(*client)) return;
    auto frame = client->framer.next();
    take_client_line(now, id, *client, std::move(*frame));
  }
}

bool VmCore::within_bounds(const Client& client) const {
  return !client.closing && client.slots.size() < limits_.max_pending_per_client &&
         client.output.size() < limits_.client_output_high_water;
}

void VmCore::take_client_line(Clock::time_point now, ClientId id, Client& client, Frame frame) {
  if (std::holds_alternative<LineTooLong>(frame)) {
    answer_now(now, id, client,
               invalid_request_answer("request line longer than " +
                                      std::to_string(limits_.max_line) + " bytes"));
    return;
  }
  auto& line = std::get<std::string>(frame);
  // Upstream's server closes a connection that sends invalid UTF-8.
  if (find_invalid_utf8(line)) return drop(now, id, "sent invalid UTF-8");
  if (is_blank(line)) {
    answer_now(now, id, client, invalid_request_answer("EOF while parsing a value at line 1 column 0"));
    return;
  }
  // Lines the relay would take as its own never reach it from a client:
  // they could open, select or close another client's session.
  if (auto control = decode_control_line(line)) {
    answer_now(now, id, client,
               invalid_request_answer("\"" + std::string(control_key(*control)) +
                                      "\" is a line of ktstats-relay's own, not an scx_stats "
                                      "request; ktstats serve does not pass it on"));
    return;
  }
  if (auto refused = refusal()) {
    answer_now(now, id, client, error_answer(refused->errno_value, refused->text));
    return;
  }
  ++counters_.requests;
  client.waiting.push_back({std::move(line), new_slot(client), now + limits_.request_timeout});
  waiting_clients_.insert(id);
}

// Why a request cannot be sent now, answered at once rather than waiting.
std::optional<VmFault> VmCore::refusal() const {
  if (!connected_) return fault_;
  if (resyncing_) {
    return VmFault{ETIMEDOUT, name_ + ": the relay in the VM stopped answering; waiting for it to "
                                      "answer again"};
  }
  return std::nullopt;
}

void VmCore::on_client_gone(Clock::time_point now, ClientId id) {
  forget(now, id);
  finish(now);
}

void VmCore::on_client_input_ended(Clock::time_point now, ClientId id) {
  Client* client = find(id);
  if (client == nullptr) return;
  client->input_ended = true;
  changed_.push_back(id);
  drop_if_done(now, id);
  finish(now);
}

void VmCore::client_output_written(Clock::time_point now, ClientId id, std::size_t bytes) {
  Client* client = find(id);
  if (client == nullptr) return;
  client->output.erase(0, bytes);
  client->output_since = now;
  if (client->output.empty()) with_output_.erase(id);
  changed_.push_back(id);
  to_recheck_.push_back(id);
  if (client->closing && client->output.empty()) drop(now, id, "");
  drop_if_done(now, id);
  finish(now);
}

// A client whose input ended goes once every line it sent is answered and
// the answers are written.
void VmCore::drop_if_done(Clock::time_point now, ClientId id) {
  const Client* client = find(id);
  if (client == nullptr || !client->input_ended) return;
  if (client->framer.has_frame() || !client->slots.empty() || !client->output.empty()) return;
  drop(now, id, "");
}

std::uint64_t VmCore::new_slot(Client& client) {
  client.slots.emplace_back();
  return client.first_slot + client.slots.size() - 1;
}

// Fills a slot; answers whose turn has come go out.
void VmCore::answer(Clock::time_point now, ClientId id, std::uint64_t slot, std::string line) {
  Client* client = find(id);
  if (client == nullptr || slot < client->first_slot) return;
  client->slots[slot - client->first_slot] = std::move(line);
  while (!client->slots.empty() && client->slots.front()) {
    if (client->output.empty()) client->output_since = now;
    client->output += *client->slots.front();
    client->output += '\n';
    client->slots.pop_front();
    ++client->first_slot;
  }
  if (!client->output.empty()) with_output_.insert(id);
  changed_.push_back(id);
  to_recheck_.push_back(id);
  // Dropped after the input at hand: answers are given inside loops over the clients.
  if (client->output.size() > limits_.client_output_cap) overfull_.push_back(id);
}

// The end of every input: clients past their output cap go, and requests
// that can be sent are.
void VmCore::finish(Clock::time_point now) {
  while (!overfull_.empty()) {
    const ClientId id = overfull_.back();
    overfull_.pop_back();
    if (find(id) != nullptr) drop(now, id, "does not read its answers");
  }
  // Held lines can be taken only where answers went out or were written.
  std::vector<ClientId> recheck;
  recheck.swap(to_recheck_);
  std::sort(recheck.begin(), recheck.end());
  recheck.erase(std::unique(recheck.begin(), recheck.end()), recheck.end());
  for (const ClientId id : recheck) {
    const Client* client = find(id);
    if (client != nullptr && client->framer.has_frame() && within_bounds(*client)) take_lines(now, id);
  }
  send_requests(now);
}

void VmCore::answer_now(Clock::time_point now, ClientId id, Client& client, std::string line) {
  ++counters_.local_answers;
  answer(now, id, new_slot(client), std::move(line));
}

void VmCore::drop(Clock::time_point now, ClientId id, const char* why) {
  if (*why != '\0') spdlog::info("{}: client {} dropped: it {}", name_, id, why);
  forget(now, id);
  to_drop_.push_back(id);
}

// A client gone: its lines still on the way are dropped when they come,
// and its session is closed in the guest.
void VmCore::forget(Clock::time_point now, ClientId id) {
  auto found = clients_.find(id);
  if (found == clients_.end()) return;
  for (auto& expected : fifo_) {
    if (expected.client == id) expected.abandoned = true;
  }
  const std::string session = std::move(found->second.session_id);
  clients_.erase(found);
  waiting_clients_.erase(id);
  with_output_.erase(id);
  if (owner_ == id) owner_.reset();
  if (probe_ == id) probe_.reset();
  if (!session.empty() && connected_ && !resyncing_ && mode_ != WireMode::kOneAtATime) {
    emit(encode_control_line(CloseLine{session}));
    expect({Expected::Kind::kDiscard, 0, 0, session, now + limits_.request_timeout});
    if (selected_ == session) selected_.clear();
  }
}

// --- sending ---

void VmCore::emit(std::string_view line) {
  vm_output_ += line;
  vm_output_ += '\n';
}

void VmCore::expect(Expected expected) { fifo_.push_back(std::move(expected)); }

std::optional<ClientId> VmCore::oldest_waiting() const {
  std::optional<ClientId> oldest;
  Clock::time_point since{};
  for (const ClientId id : waiting_clients_) {
    const Client* client = find(id);
    if (client == nullptr || client->waiting.empty()) continue;
    if (!oldest || client->waiting.front().deadline < since) {
      oldest = id;
      since = client->waiting.front().deadline;
    }
  }
  return oldest;
}

// Requests go to the VM while its output is below the high water: every
// client in turn without sessions unknown or absent, else the one client
// whose open asks (or who is served).
void VmCore::send_requests(Clock::time_point now) {
  if (!connected_ || resyncing_) return;
  if (mode_ == WireMode::kSessions) {
    while (!waiting_clients_.empty() && vm_output_.size() < limits_.vm_output_high_water) {
      // Round robin from the client after the one served last.
      auto next = waiting_clients_.upper_bound(last_served_);
      if (next == waiting_clients_.end()) next = waiting_clients_.begin();
      last_served_ = *next;
      Client* client = find(last_served_);
      if (client == nullptr || client->waiting.empty()) {
        waiting_clients_.erase(next);
        continue;
      }
      send_one(now, last_served_, *client);
    }
    return;
  }
  std::optional<ClientId>& served = mode_ == WireMode::kUnknown ? probe_ : owner_;
  if (!served) {
    if (mode_ == WireMode::kUnknown && probe_pending_) return;
    // The next client's sync would end the scheduler connection (a 0.1
    // relay drops its queue at a new nonce) under the lines the previous
    // one still has coming: it waits until they are back or timed out.
    if (mode_ == WireMode::kOneAtATime && !fifo_.empty()) return;
    served = oldest_waiting();
    if (!served) return;
    if (mode_ == WireMode::kOneAtATime) {
      // A sync line with a new nonce gives the next client a scheduler
      // connection of its own on a ktstats-relay 0.1; elsewhere the
      // scheduler answers it with an error. One line back either way.
      const std::string nonce = fresh_id("serve");
      emit(encode_control_line(SyncLine{nonce}));
      expect({Expected::Kind::kDiscard, 0, 0, nonce, now + limits_.request_timeout});
    }
  }
  Client* client = find(*served);
  while (client != nullptr && !client->waiting.empty() &&
         vm_output_.size() < limits_.vm_output_high_water) {
    send_one(now, *served, *client);
  }
}

bool VmCore::send_one(Clock::time_point now, ClientId id, Client& client) {
  if (mode_ != WireMode::kOneAtATime) {
    if (client.session_id.empty()) {
      client.session_id = fresh_id("c");
      emit(encode_control_line(OpenLine{client.session_id}));
      expect({Expected::Kind::kOpenEcho, id, 0, client.session_id, now + limits_.request_timeout});
      selected_ = client.session_id;
      if (mode_ == WireMode::kUnknown) probe_pending_ = true;
    } else if (selected_ != client.session_id) {
      emit(encode_control_line(SelectLine{client.session_id}));
      selected_ = client.session_id;
    }
  }
  Request request = std::move(client.waiting.front());
  client.waiting.pop_front();
  if (client.waiting.empty()) waiting_clients_.erase(id);
  emit(request.line);
  expect({Expected::Kind::kAnswer, id, request.slot, client.session_id,
          now + limits_.request_timeout});
  return true;
}

// --- the VM ---

void VmCore::on_vm_connected(Clock::time_point now) {
  connected_ = true;
  mode_ = WireMode::kUnknown;
  vm_framer_.reset();
  vm_output_.clear();
  fifo_.clear();
  finish(now);
}

void VmCore::on_vm_bytes(Clock::time_point now, std::string_view bytes) {
  if (!connected_) return;
  vm_framer_.feed(bytes);
  while (auto frame = vm_framer_.next()) take_vm_line(now, std::move(*frame));
  finish(now);
}

void VmCore::take_vm_line(Clock::time_point now, Frame frame) {
  auto* line = std::get_if<std::string>(&frame);
  if (resyncing_) {
    // Everything before a marker's echo is over, answered or lost.
    vm_spoke_while_resyncing_ = true;
    auto reply = line ? decode_open_reply(*line) : std::nullopt;
    const auto marker = reply ? std::find(markers_.begin(), markers_.end(), reply->id) : markers_.end();
    if (marker == markers_.end()) {
      ++counters_.stray_lines;
      return;
    }
    resynced(now, static_cast<std::size_t>(marker - markers_.begin()));
    return;
  }
  if (fifo_.empty()) {
    ++counters_.stray_lines;
    spdlog::debug("{}: a line from the VM that nobody asked for, dropped", name_);
    return;
  }
  if (is_stale_before_probe_answer(fifo_.front(), line)) {
    ++counters_.stray_lines;
    spdlog::debug("{}: a stale line before the first open's answer, dropped", name_);
    return;
  }
  Expected expected = std::move(fifo_.front());
  fifo_.pop_front();
  // The relay answers in order: the next line's wait starts now at the
  // latest, however long it waited behind this one.
  if (!fifo_.empty() && fifo_.front().deadline) {
    fifo_.front().deadline = std::max(*fifo_.front().deadline, now + limits_.request_timeout);
  }
  switch (expected.kind) {
    case Expected::Kind::kDiscard: return;
    case Expected::Kind::kOpenEcho:
      if (line) on_open_answer(expected, *line);
      return;
    case Expected::Kind::kAnswer:
      deliver(now, expected,
              line ? std::move(*line)
                   : error_answer(EMSGSIZE, name_ + ": the answer was longer than " +
                                                std::to_string(limits_.max_line) + " bytes"));
      return;
  }
}

// Until the relay has answered the first open, lines of an earlier host
// may still come (the relay may have missed its end): they are dropped,
// not taken for the answer. The answer is the open's echo, or, from a
// relay without sessions, an error answer (the scheduler's to a line that
// is no request, or the relay's own).
bool VmCore::is_stale_before_probe_answer(const Expected& front, const std::string* line) const {
  if (mode_ != WireMode::kUnknown || front.kind != Expected::Kind::kOpenEcho) return false;
  if (line == nullptr) return true;
  if (auto reply = decode_open_reply(*line)) return reply->id != front.id;
  return !is_error_answer(*line);
}

void VmCore::on_open_answer(const Expected& expected, const std::string& line) {
  if (auto reply = decode_open_reply(line); reply && reply->id == expected.id) {
    if (mode_ != WireMode::kSessions) {
      spdlog::info("{}: {} {} in the VM, a session per client (at most {})", name_,
                   escape_for_terminal(reply->relay, 64), escape_for_terminal(reply->version, 64),
                   reply->max_sessions);
    }
    mode_ = WireMode::kSessions;
    relay_ = reply->relay;
    relay_version_ = reply->version;
    probe_pending_ = false;
    probe_.reset();
    return;
  }
  Client* client = find(expected.client);
  if (mode_ == WireMode::kUnknown) {
    probe_pending_ = false;
    auto error = translate_relay_error(name_, line);
    if (!error || error->kind != RelayErrorKind::kSessionLimit) {
      // A relay without sessions passed the open line on to the scheduler:
      // its requests, sent behind it, went over the one scheduler
      // connection, and that client is the one being served.
      mode_ = WireMode::kOneAtATime;
      owner_ = probe_;
      probe_.reset();
      if (!logged_one_at_a_time_) {
        spdlog::warn("{}: the relay in the VM does not speak sessions (an older ktstats-relay, "
                     "ktstr's relay or a bridge): serving one client at a time",
                     name_);
        logged_one_at_a_time_ = true;
      }
      return;
    }
    mode_ = WireMode::kSessions;
    probe_.reset();
  }
  // Refused (the relay's session limit): its requests behind it are
  // answered "no session", and its next request opens again.
  if (client != nullptr && client->session_id == expected.id) {
    client->session_id.clear();
    if (auto refusal = translate_relay_error(name_, line)) {
      client->refused_session = expected.id;
      client->refusal = std::move(refusal->answer);
    }
  }
  if (selected_ == expected.id) selected_.clear();
}

void VmCore::deliver(Clock::time_point now, const Expected& expected, std::string line) {
  Client* client = find(expected.client);
  if (client == nullptr || expected.abandoned) return;
  if (auto error = translate_relay_error(name_, line)) {
    if (error->session_lost && client->session_id == expected.id) client->session_id.clear();
    const bool open_refused = error->kind == RelayErrorKind::kNoSession &&
                              !client->refused_session.empty() &&
                              client->refused_session == expected.id;
    line = open_refused ? client->refusal : std::move(error->answer);
  }
  answer(now, expected.client, expected.slot, std::move(line));
}

void VmCore::on_vm_gone(Clock::time_point now, VmFault why) {
  if (!connected_) {
    fault_ = std::move(why);
    return;
  }
  spdlog::warn("{}", escape_for_terminal(why.text, 400));
  fail_everything(now, why);
  stale_sessions_.clear();  // they ended with the connection
  connected_ = false;
  fault_ = std::move(why);
  mode_ = WireMode::kUnknown;
  relay_.clear();
  relay_version_.clear();
  vm_output_.clear();
  vm_framer_.reset();
  finish(now);
}

void VmCore::on_vm_unreachable(VmFault why) { fault_ = std::move(why); }

// Every request in flight or waiting is answered with the fault now;
// sessions are gone with the connection (or will be closed after a resync).
void VmCore::fail_everything(Clock::time_point now, const VmFault& why) {
  for (const auto& expected : fifo_) {
    if (expected.kind == Expected::Kind::kAnswer && !expected.abandoned) {
      answer(now, expected.client, expected.slot, error_answer(why.errno_value, why.text));
    }
  }
  fifo_.clear();
  for (auto& [id, client] : clients_) {
    while (!client.waiting.empty()) {
      const auto slot = client.waiting.front().slot;
      client.waiting.pop_front();
      answer(now, id, slot, error_answer(why.errno_value, why.text));
    }
    if (!client.session_id.empty()) stale_sessions_.push_back(std::move(client.session_id));
    client.session_id.clear();
  }
  waiting_clients_.clear();
  selected_.clear();
  probe_.reset();
  probe_pending_ = false;
  owner_.reset();
  resyncing_ = false;
}

void VmCore::vm_output_written(std::size_t bytes) { vm_output_.erase(0, bytes); }

// A request unanswered past the timeout: its client, and every other in
// flight, is answered now. With sessions, an open of a fresh marker id
// finds where the stream stands again (its echo comes after every answer
// still to come); without, only a new connection can.
void VmCore::vm_stopped_answering(Clock::time_point now) {
  ++counters_.resyncs;
  const VmFault why{ETIMEDOUT, name_ + ": no answer from the VM within " +
                                   seconds_text(limits_.request_timeout) +
                                   " (is the relay in the VM running?)"};
  spdlog::warn("{}", why.text);
  const bool sessions = mode_ == WireMode::kSessions;
  fail_everything(now, why);
  if (!sessions) {
    stale_sessions_.clear();
    reset_wanted_ = true;
    return;
  }
  resyncing_ = true;
  resync_since_ = now;
  vm_spoke_while_resyncing_ = false;
  markers_.clear();
  marker_delay_ = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), limits_.request_timeout);
  // The sessions are closed first: a close frees its place in the relay at
  // once, so the marker's open is not refused past the relay's session
  // limit. Their echoes come before the marker's and are dropped with the rest.
  for (const auto& session : stale_sessions_) emit(encode_control_line(CloseLine{session}));
  stale_sessions_.clear();
  send_marker(now);
}

// A marker is an open of a fresh id, so an echo names the one it answers:
// a relay that restarted after reading an earlier marker answers only the
// later ones.
void VmCore::send_marker(Clock::time_point now) {
  markers_.push_back(fresh_id("resync"));
  emit(encode_control_line(OpenLine{markers_.back()}));
  marker_due_ = now + marker_delay_;
  marker_delay_ = std::min(marker_delay_ * 2, limits_.request_timeout);
}

// The echo of markers_[echoed]: the markers sent after it are answered one
// line each, still to come; every marker is a session, closed now.
void VmCore::resynced(Clock::time_point now, std::size_t echoed) {
  fifo_.clear();
  resyncing_ = false;
  for (std::size_t later = echoed + 1; later < markers_.size(); ++later) {
    expect({Expected::Kind::kDiscard, 0, 0, markers_[later], now + limits_.request_timeout});
  }
  for (const auto& marker : markers_) {
    emit(encode_control_line(CloseLine{marker}));
    expect({Expected::Kind::kDiscard, 0, 0, marker, now + limits_.request_timeout});
  }
  markers_.clear();
  spdlog::info("{}: the relay in the VM answers again", name_);
}

// No echo yet: another marker once the last is written out and its wait
// is over (a paused VM reads nothing, so they do not pile up). A VM that
// speaks but never echoes a marker (its relay refusing every open) is
// connected to again.
void VmCore::keep_resyncing(Clock::time_point now) {
  if (vm_spoke_while_resyncing_ && resync_give_up_at() <= now) {
    spdlog::warn("{}: the relay in the VM answers, but not serve's markers; connecting to it again",
                 name_);
    reset_wanted_ = true;
    return;
  }
  if (marker_due_ <= now && vm_output_.empty()) send_marker(now);
}

Clock::time_point VmCore::resync_give_up_at() const {
  return resync_since_ + 4 * limits_.request_timeout;
}

void VmCore::on_time(Clock::time_point now) {
  if (resyncing_) keep_resyncing(now);
  // Only the first line due counts: the lines behind it cannot come first.
  // A line whose client went counts too, as everything behind it waits for it.
  if (!fifo_.empty() && fifo_.front().deadline && *fifo_.front().deadline <= now) {
    vm_stopped_answering(now);
  }
  std::vector<ClientId> stalled;
  for (auto& [id, client] : clients_) {
    while (!client.waiting.empty() && client.waiting.front().deadline <= now) {
      const auto slot = client.waiting.front().slot;
      client.waiting.pop_front();
      const bool busy = mode_ == WireMode::kOneAtATime;
      answer(now, id, slot,
             error_answer(busy ? EBUSY : ETIMEDOUT,
                          busy ? name_ + ": the relay in the VM has no sessions, and another "
                                         "client is being served"
                               : name_ + ": the request waited " +
                                     seconds_text(limits_.request_timeout) + " to be sent"));
    }
    if (client.waiting.empty()) waiting_clients_.erase(id);
    if (!client.output.empty() && client.output_since + limits_.request_timeout <= now) {
      stalled.push_back(id);
    }
  }
  for (const ClientId id : stalled) drop(now, id, "has not read its answers for a request timeout");
  finish(now);
}

std::string VmCore::fresh_id(std::string_view kind) {
  return id_prefix_ + std::string(kind) + std::to_string(next_id_++);
}

// --- outputs ---

VmCore::Client* VmCore::find(ClientId id) {
  auto found = clients_.find(id);
  return found == clients_.end() ? nullptr : &found->second;
}

const VmCore::Client* VmCore::find(ClientId id) const {
  auto found = clients_.find(id);
  return found == clients_.end() ? nullptr : &found->second;
}

std::string_view VmCore::client_output(ClientId id) const {
  const Client* client = find(id);
  return client == nullptr ? std::string_view{} : std::string_view{client->output};
}

bool VmCore::wants_client_input(ClientId id) const {
  const Client* client = find(id);
  return client != nullptr && !client->input_ended && !client->framer.has_frame() &&
         within_bounds(*client);
}

std::vector<ClientId> VmCore::take_changed_clients() {
  std::vector<ClientId> changed;
  changed.swap(changed_);
  return changed;
}

std::vector<ClientId> VmCore::take_clients_to_drop() {
  std::vector<ClientId> dropped;
  dropped.swap(to_drop_);
  return dropped;
}

bool VmCore::take_vm_reset() { return std::exchange(reset_wanted_, false); }

std::optional<Clock::time_point> VmCore::next_deadline() const {
  std::optional<Clock::time_point> earliest;
  auto consider = [&earliest](Clock::time_point at) {
    if (!earliest || at < *earliest) earliest = at;
  };
  if (!fifo_.empty() && fifo_.front().deadline) consider(*fifo_.front().deadline);
  if (resyncing_) {
    if (vm_output_.empty()) consider(marker_due_);
    if (vm_spoke_while_resyncing_) consider(resync_give_up_at());
  }
  for (const ClientId id : waiting_clients_) {
    const Client* client = find(id);
    if (client != nullptr && !client->waiting.empty()) consider(client->waiting.front().deadline);
  }
  for (const ClientId id : with_output_) {
    const Client* client = find(id);
    if (client != nullptr && !client->output.empty()) consider(client->output_since + limits_.request_timeout);
  }
  return earliest;
}

}  // namespace ktstats::serve
