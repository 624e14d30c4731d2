#pragma once

#include <optional>
#include <string>
#include <string_view>

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

inline constexpr std::string_view kRelayErrorKey = "ktstr_relay_error";
inline constexpr std::string_view kSyncKey = "ktstats_sync";
inline constexpr std::size_t kMaxNonceBytes = 64;
inline constexpr std::string_view kRelayName = "ktstats-relay";

enum class RelayErrorKind {
  kNoScheduler,      // "no_scheduler": no socket, refused, or it did not appear in time
  kTimeout,          // "timeout": no answer within the relay's --response-timeout
  kOversize,         // "oversize": the answer line passed the cap
  kClosed,           // "closed": the scheduler closed the connection before answering
  kQueueFull,        // "queue_full": too many requests waiting in this session
  kRequestTooLarge,  // "request_too_large": the request line passed the cap
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

}  // namespace ktstats
