#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

namespace ktstats {

// The relay's own lines, besides the scx_stats lines it forwards.
//
// Error line, written in place of a response the relay could not get:
//   {"ktstr_relay_error":"<reason>","kind":"<kind>"}
// The key is ktstr's, byte for byte, so ktstr's host client and ours
// understand each other's relays; ktstr's client reads the reason and
// ignores the kind. The kind says which fault it was, for programs; a line
// without a known kind (ktstr's relay, an older ktstats-relay) is taken as
// "no scheduler".
//
// Sync line, answered by the relay itself and never forwarded, so a host can
// check that a relay is there and discard stale bytes before its request:
//   host:  {"ktstats_sync":"<nonce>"}
//   relay: {"ktstats_sync":"<nonce>","relay":"ktstats-relay","version":"<v>"}
// A nonce is 1 to 64 characters of [A-Za-z0-9_-].
//
// Session lines (docs/PROTOCOL.md has the whole protocol): a host opens,
// selects and closes sessions of its own, each with its own scheduler
// connection in the guest. Session ids are nonces too.
//   host:  {"ktstats_open":"<id>"}    opens <id> (again: no change) and selects it
//   relay: {"ktstats_open":"<id>","relay":"ktstats-relay","version":"<v>","max_sessions":N}
//   host:  {"ktstats_select":"<id>"}  the request lines that follow are <id>'s; no answer
//   host:  {"ktstats_close":"<id>"}   closes <id> and its scheduler connection
//   relay: {"ktstats_close":"<id>"}
// Every line a host sends but a select line gets exactly one line back, and
// lines come back in the order their requests were sent, across sessions.

inline constexpr std::string_view kRelayErrorKey = "ktstr_relay_error";
inline constexpr std::string_view kSyncKey = "ktstats_sync";
inline constexpr std::string_view kOpenKey = "ktstats_open";
inline constexpr std::string_view kSelectKey = "ktstats_select";
inline constexpr std::string_view kCloseKey = "ktstats_close";
inline constexpr std::size_t kMaxNonceBytes = 64;
inline constexpr std::string_view kRelayName = "ktstats-relay";

enum class RelayErrorKind {
  kNoScheduler,      // "no_scheduler": no socket, refused, or it did not appear in time
  kTimeout,          // "timeout": no answer within the relay's --response-timeout
  kOversize,         // "oversize": the answer line passed the cap
  kClosed,           // "closed": the scheduler closed the connection before answering
  kQueueFull,        // "queue_full": too many requests waiting in this session
  kRequestTooLarge,  // "request_too_large": the request line passed the cap
  kNoSession,        // "no_session": the selected session is not open
  kSessionLimit,     // "session_limit": an open past the relay's session limit
};
inline constexpr std::string_view kRelayErrorKindKey = "kind";

std::string_view relay_error_kind_name(RelayErrorKind kind);

std::string encode_relay_error(RelayErrorKind kind, std::string_view reason);

struct RelayErrorLine {
  std::string reason;
  std::optional<RelayErrorKind> kind;  // absent or unknown: nullopt
};

// The line's reason and kind, if the value is a relay error line.
std::optional<RelayErrorLine> decode_relay_error(const boost::json::value& value);

// The reason alone, if the value is a relay error line.
std::optional<std::string> relay_error_reason(const boost::json::value& value);

bool is_valid_nonce(std::string_view nonce);

std::string encode_sync_request(std::string_view nonce);

// The nonce, if the line is a well-formed sync request.
std::optional<std::string> decode_sync_request(std::string_view line);

struct SyncReply {
  std::string nonce;
  std::string version;
  // Ours when encoding; decoded as the echo gives it, empty when it names none.
  std::string relay{kRelayName};

  bool operator==(const SyncReply&) const = default;
};

std::string encode_sync_reply(const SyncReply& reply);

// The reply, if the line is a well-formed sync reply.
std::optional<SyncReply> decode_sync_reply(std::string_view line);

// A host's line addressed to the relay itself, parsed once. A line that
// names one of these keys but is not exactly {"<key>":"<valid id>"} is no
// control line: the relay forwards it like any request.
struct SyncLine {
  std::string nonce;
  bool operator==(const SyncLine&) const = default;
};
struct OpenLine {
  std::string id;
  bool operator==(const OpenLine&) const = default;
};
struct SelectLine {
  std::string id;
  bool operator==(const SelectLine&) const = default;
};
struct CloseLine {
  std::string id;
  bool operator==(const CloseLine&) const = default;
};
using ControlLine = std::variant<SyncLine, OpenLine, SelectLine, CloseLine>;

std::string encode_control_line(const ControlLine& line);
std::optional<ControlLine> decode_control_line(std::string_view line);

struct OpenReply {
  std::string id;
  std::string version;
  std::uint64_t max_sessions = 0;
  // Ours when encoding; decoded as the echo gives it, empty when it names none.
  std::string relay{kRelayName};

  bool operator==(const OpenReply&) const = default;
};

std::string encode_open_reply(const OpenReply& reply);
std::optional<OpenReply> decode_open_reply(std::string_view line);

std::string encode_close_reply(std::string_view id);
// The id, if the line is a close echo.
std::optional<std::string> decode_close_reply(std::string_view line);

}  // namespace ktstats
