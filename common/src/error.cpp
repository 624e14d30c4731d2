#include "ktstats/error.hpp"

#include "ktstats/errno_text.hpp"
#include "ktstats/terminal_text.hpp"

namespace ktstats {
namespace {

constexpr std::size_t kShownPeerBytes = 200;

// A peer's JSON for a message, escaped and cut.
std::string peer_json(const PeerValue& value) {
  return escape_for_terminal(value.text, kShownPeerBytes);
}

// A scheduler's error text may take several lines (anyhow's "Caused by:"
// chain); more than this is cut.
constexpr std::size_t kShownErrorLines = 16;
constexpr std::size_t kShownErrorBytes = 1000;

// The text's lines, each escaped, the ones after the first indented by two
// spaces; blank lines stay blank, a final newline is dropped.
std::string indented_lines(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::string out;
  std::size_t budget = kShownErrorBytes;
  for (std::size_t shown = 0;; ++shown) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    if (shown > 0) out += line.empty() ? "\n" : "\n  ";
    if (shown == kShownErrorLines || budget == 0) {
      out += "...";
      break;
    }
    out += escape_for_terminal(line, budget);
    if (line.size() > budget) break;  // cut there, "..." appended
    budget -= line.size();
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

std::string scheduler_error_text(const SchedulerError& error) {
  return error.resp ? indented_lines(*error.resp) : peer_json(error.args);
}

std::string duration_text(std::chrono::milliseconds after) {
  const auto ms = after.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

std::string relay_reports(const std::string& reason) {
  return "the relay reports: " + escape_for_terminal(reason, kShownPeerBytes);
}

struct Describe {
  std::string operator()(const RequestTooLarge& e) const {
    if (!e.relay_reason.empty()) return relay_reports(e.relay_reason);
    return "request of " + std::to_string(e.size) + " bytes exceeds the " +
           std::to_string(e.max) + "-byte cap";
  }
  std::string operator()(const ResponseTooLarge& e) const {
    if (!e.relay_reason.empty()) return relay_reports(e.relay_reason);
    return "response line reached " + std::to_string(e.size) + " bytes without a newline (cap " +
           std::to_string(e.max) + "); it was discarded";
  }
  std::string operator()(const NoScheduler& e) const {
    return "no scheduler answered: " + escape_for_terminal(e.reason, kShownPeerBytes);
  }
  std::string operator()(const RelayQueueFull& e) const { return relay_reports(e.reason); }
  std::string operator()(const SchedulerError& e) const {
    return "scheduler returned " + errno_text(e.errno_value) + ": " + scheduler_error_text(e);
  }
  std::string operator()(const MissingResp& e) const {
    return "response has no \"resp\" in its args: " + peer_json(e.args);
  }
  std::string operator()(const Cancelled&) const { return "request cancelled"; }
  std::string operator()(const Timeout& e) const {
    if (!e.relay_reason.empty()) return relay_reports(e.relay_reason);
    std::string text = "no answer within " + duration_text(e.after);
    if (e.awaited != Awaited::kUnnamed) {
      text += " (waiting for ";
      text += awaited_text(e.awaited);
      text += ")";
    }
    return text;
  }
  std::string operator()(const Transport& e) const {
    if (!e.relay_reason.empty()) return relay_reports(e.relay_reason);
    if (e.error == 0) return e.what;
    return e.what + ": " + errno_text(e.error);
  }
  std::string operator()(const Protocol& e) const { return "protocol error: " + e.what; }
};

}  // namespace

std::string_view awaited_text(Awaited awaited) {
  switch (awaited) {
    case Awaited::kUnnamed: return "";
    case Awaited::kSyncEcho: return "the relay's sync echo";
    case Awaited::kAnswer: return "the answer";
    case Awaited::kPeerTakingRequest: return "the peer to take the request";
  }
  return "";
}

std::string describe(const Error& error) { return std::visit(Describe{}, error); }

}  // namespace ktstats
