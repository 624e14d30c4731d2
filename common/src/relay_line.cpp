#include "ktstats/relay_line.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "ktstats/json_line.hpp"

namespace ktstats {
namespace {

// Cheap pre-check: only lines naming the sync key are parsed.
const boost::json::object* sync_object(std::string_view line, boost::json::value& storage) {
  if (line.find(kSyncKey) == std::string_view::npos) return nullptr;
  auto parsed = parse_json_line(line);
  if (!parsed) return nullptr;
  storage = std::move(*parsed);
  return storage.if_object();
}

const boost::json::string* string_member(const boost::json::object& object,
                                         std::string_view key) {
  const auto* member = object.if_contains(key);
  return member == nullptr ? nullptr : member->if_string();
}

}  // namespace

constexpr RelayErrorKind kAllKinds[] = {
    RelayErrorKind::kNoScheduler, RelayErrorKind::kTimeout,   RelayErrorKind::kOversize,
    RelayErrorKind::kClosed,      RelayErrorKind::kQueueFull, RelayErrorKind::kRequestTooLarge,
};

std::string_view relay_error_kind_name(RelayErrorKind kind) {
  switch (kind) {
    case RelayErrorKind::kNoScheduler: return "no_scheduler";
    case RelayErrorKind::kTimeout: return "timeout";
    case RelayErrorKind::kOversize: return "oversize";
    case RelayErrorKind::kClosed: return "closed";
    case RelayErrorKind::kQueueFull: return "queue_full";
    case RelayErrorKind::kRequestTooLarge: return "request_too_large";
  }
  return "no_scheduler";
}

std::string encode_relay_error(RelayErrorKind kind, std::string_view reason) {
  boost::json::object line;
  line[kRelayErrorKey] = reason;
  line[kRelayErrorKindKey] = relay_error_kind_name(kind);
  return boost::json::serialize(line);
}

std::optional<RelayErrorLine> decode_relay_error(const boost::json::value& value) {
  const auto* object = value.if_object();
  if (object == nullptr) return std::nullopt;
  const auto* reason = string_member(*object, kRelayErrorKey);
  if (reason == nullptr) return std::nullopt;
  RelayErrorLine line{std::string(*reason), std::nullopt};
  if (const auto* kind = string_member(*object, kRelayErrorKindKey)) {
    for (const auto known : kAllKinds) {
      if (*kind == relay_error_kind_name(known)) line.kind = known;
    }
  }
  return line;
}

std::optional<std::string> relay_error_reason(const boost::json::value& value) {
  auto line = decode_relay_error(value);
  if (!line) return std::nullopt;
  return std::move(line->reason);
}

bool is_valid_nonce(std::string_view nonce) {
  if (nonce.empty() || nonce.size() > kMaxNonceBytes) return false;
  return std::all_of(nonce.begin(), nonce.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::string encode_sync_request(std::string_view nonce) {
  boost::json::object line;
  line[kSyncKey] = nonce;
  return boost::json::serialize(line);
}

std::optional<std::string> decode_sync_request(std::string_view line) {
  boost::json::value storage;
  const auto* object = sync_object(line, storage);
  if (object == nullptr || object->size() != 1) return std::nullopt;
  const auto* nonce = string_member(*object, kSyncKey);
  if (nonce == nullptr || !is_valid_nonce(*nonce)) return std::nullopt;
  return std::string(*nonce);
}

std::string encode_sync_reply(const SyncReply& reply) {
  boost::json::object line;
  line[kSyncKey] = reply.nonce;
  line["relay"] = reply.relay;
  line["version"] = reply.version;
  return boost::json::serialize(line);
}

std::optional<SyncReply> decode_sync_reply(std::string_view line) {
  boost::json::value storage;
  const auto* object = sync_object(line, storage);
  if (object == nullptr) return std::nullopt;
  const auto* nonce = string_member(*object, kSyncKey);
  const auto* version = string_member(*object, "version");
  if (nonce == nullptr || version == nullptr || !is_valid_nonce(*nonce)) return std::nullopt;
  const auto* relay = string_member(*object, "relay");
  return SyncReply{std::string(*nonce), std::string(*version),
                   relay == nullptr ? std::string() : std::string(*relay)};
}

}  // namespace ktstats
