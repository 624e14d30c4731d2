// The relay's error lines and echoes as a host reads them, with Boost.JSON:
// an echo may come from another relay (ktstr's, an older ktstats-relay) with
// members in any order or more of them. The relay itself links none of this.
#include <boost/json/object.hpp>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats {
namespace {

// Cheap pre-check: only lines naming the key are parsed, so a scheduler's
// answer costs a substring search, not a parse.
const boost::json::object* keyed_object(std::string_view line, std::string_view key,
                                        boost::json::value& storage) {
  if (line.find(key) == std::string_view::npos) return nullptr;
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

constexpr RelayErrorKind kAllKinds[] = {
    RelayErrorKind::kNoScheduler,     RelayErrorKind::kTimeout,   RelayErrorKind::kOversize,
    RelayErrorKind::kClosed,          RelayErrorKind::kQueueFull, RelayErrorKind::kRequestTooLarge,
    RelayErrorKind::kNoSession,       RelayErrorKind::kSessionLimit,
};

struct Echo {
  std::string id;
  std::string version;
  std::string relay;  // empty when the echo names none
  const boost::json::object* object;
};

// The common part of a sync or open echo: the line's key and id, then who answers.
std::optional<Echo> decode_echo(std::string_view line, std::string_view key,
                                boost::json::value& storage) {
  const auto* object = keyed_object(line, key, storage);
  if (object == nullptr) return std::nullopt;
  const auto* id = string_member(*object, key);
  const auto* version = string_member(*object, "version");
  if (id == nullptr || version == nullptr || !is_valid_nonce(*id)) return std::nullopt;
  const auto* relay = string_member(*object, "relay");
  return Echo{std::string(*id), std::string(*version),
              relay == nullptr ? std::string() : std::string(*relay), object};
}

}  // namespace

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

std::optional<std::string> decode_sync_request(std::string_view line) {
  boost::json::value storage;
  const auto* object = keyed_object(line, kSyncKey, storage);
  if (object == nullptr || object->size() != 1) return std::nullopt;
  const auto* nonce = string_member(*object, kSyncKey);
  if (nonce == nullptr || !is_valid_nonce(*nonce)) return std::nullopt;
  return std::string(*nonce);
}

std::optional<SyncReply> decode_sync_reply(std::string_view line) {
  boost::json::value storage;
  auto echo = decode_echo(line, kSyncKey, storage);
  if (!echo) return std::nullopt;
  return SyncReply{std::move(echo->id), std::move(echo->version), std::move(echo->relay)};
}

std::optional<OpenReply> decode_open_reply(std::string_view line) {
  boost::json::value storage;
  auto echo = decode_echo(line, kOpenKey, storage);
  if (!echo) return std::nullopt;
  OpenReply reply{std::move(echo->id), std::move(echo->version), 0, std::move(echo->relay)};
  if (const auto* max = echo->object->if_contains("max_sessions")) {
    if (max->is_uint64()) reply.max_sessions = max->get_uint64();
    if (max->is_int64() && max->get_int64() >= 0) {
      reply.max_sessions = static_cast<std::uint64_t>(max->get_int64());
    }
  }
  return reply;
}

}  // namespace ktstats
