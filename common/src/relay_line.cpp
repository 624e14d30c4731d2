#include "ktstats/relay_line.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "ktstats/json_line.hpp"

namespace ktstats {
namespace {

// Cheap pre-check: only lines naming the key are parsed, so a scheduler's
// answer or a host's request costs a substring search, not a parse.
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

}  // namespace

constexpr RelayErrorKind kAllKinds[] = {
    RelayErrorKind::kNoScheduler,     RelayErrorKind::kTimeout,   RelayErrorKind::kOversize,
    RelayErrorKind::kClosed,          RelayErrorKind::kQueueFull, RelayErrorKind::kRequestTooLarge,
    RelayErrorKind::kNoSession,       RelayErrorKind::kSessionLimit,
};

std::string_view relay_error_kind_name(RelayErrorKind kind) {
  switch (kind) {
    case RelayErrorKind::kNoScheduler: return "no_scheduler";
    case RelayErrorKind::kTimeout: return "timeout";
    case RelayErrorKind::kOversize: return "oversize";
    case RelayErrorKind::kClosed: return "closed";
    case RelayErrorKind::kQueueFull: return "queue_full";
    case RelayErrorKind::kRequestTooLarge: return "request_too_large";
    case RelayErrorKind::kNoSession: return "no_session";
    case RelayErrorKind::kSessionLimit: return "session_limit";
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
  const auto* object = keyed_object(line, kSyncKey, storage);
  if (object == nullptr || object->size() != 1) return std::nullopt;
  const auto* nonce = string_member(*object, kSyncKey);
  if (nonce == nullptr || !is_valid_nonce(*nonce)) return std::nullopt;
  return std::string(*nonce);
}

namespace {

// The relay's echo of a host's sync or open line: the line's key and id,
// then who answers.
boost::json::object echo_object(std::string_view key, std::string_view id, std::string_view relay,
                                std::string_view version) {
  boost::json::object line;
  line[key] = id;
  line["relay"] = relay;
  line["version"] = version;
  return line;
}

struct Echo {
  std::string id;
  std::string version;
  std::string relay;  // empty when the echo names none
  const boost::json::object* object;
};

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

std::string encode_sync_reply(const SyncReply& reply) {
  return boost::json::serialize(echo_object(kSyncKey, reply.nonce, reply.relay, reply.version));
}

std::optional<SyncReply> decode_sync_reply(std::string_view line) {
  boost::json::value storage;
  auto echo = decode_echo(line, kSyncKey, storage);
  if (!echo) return std::nullopt;
  return SyncReply{std::move(echo->id), std::move(echo->version), std::move(echo->relay)};
}

namespace {

// Whether the line opens an object whose first key starts "ktstats_": a
// control line's only key does, and a request line (the relay's every
// line) is turned away without being parsed.
bool opens_with_control_key(std::string_view line) {
  constexpr std::string_view kJsonSpace = " \t\r\n";
  auto brace = line.find_first_not_of(kJsonSpace);
  if (brace == std::string_view::npos || line[brace] != '{') return false;
  auto key = line.find_first_not_of(kJsonSpace, brace + 1);
  return key != std::string_view::npos && line.substr(key).starts_with("\"ktstats_");
}

// The one member's key and its id, if the line is exactly {"ktstats_…":"<id>"}.
std::optional<std::pair<std::string, std::string>> control_member(std::string_view line) {
  if (!opens_with_control_key(line)) return std::nullopt;
  boost::json::value storage;
  const auto* object = keyed_object(line, "\"ktstats_", storage);
  if (object == nullptr || object->size() != 1) return std::nullopt;
  const auto& member = *object->begin();
  const auto* id = member.value().if_string();
  if (id == nullptr || !is_valid_nonce(*id)) return std::nullopt;
  return std::pair{std::string(member.key()), std::string(*id)};
}

}  // namespace

std::string encode_control_line(const ControlLine& line) {
  struct Encode {
    std::string operator()(const SyncLine& sync) const { return encode_sync_request(sync.nonce); }
    std::string operator()(const OpenLine& open) const { return keyed(kOpenKey, open.id); }
    std::string operator()(const SelectLine& select) const { return keyed(kSelectKey, select.id); }
    std::string operator()(const CloseLine& close) const { return keyed(kCloseKey, close.id); }
    static std::string keyed(std::string_view key, std::string_view id) {
      boost::json::object object;
      object[key] = id;
      return boost::json::serialize(object);
    }
  };
  return std::visit(Encode{}, line);
}

std::optional<ControlLine> decode_control_line(std::string_view line) {
  auto member = control_member(line);
  if (!member) return std::nullopt;
  auto& [key, id] = *member;
  if (key == kSyncKey) return SyncLine{std::move(id)};
  if (key == kOpenKey) return OpenLine{std::move(id)};
  if (key == kSelectKey) return SelectLine{std::move(id)};
  if (key == kCloseKey) return CloseLine{std::move(id)};
  return std::nullopt;
}

std::string encode_open_reply(const OpenReply& reply) {
  auto line = echo_object(kOpenKey, reply.id, reply.relay, reply.version);
  line["max_sessions"] = reply.max_sessions;
  return boost::json::serialize(line);
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

std::string encode_close_reply(std::string_view id) {
  return encode_control_line(CloseLine{std::string(id)});
}

std::optional<std::string> decode_close_reply(std::string_view line) {
  auto control = decode_control_line(line);
  if (!control) return std::nullopt;
  auto* close = std::get_if<CloseLine>(&*control);
  if (close == nullptr) return std::nullopt;
  return std::move(close->id);
}

}  // namespace ktstats
