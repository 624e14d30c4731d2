// The relay's lines as the relay writes and recognises them, without a JSON
// library: the relay links this file and none of relay_line_decode.cpp.
#include "ktstats/relay_line.hpp"

#include <algorithm>

#include "json_text.hpp"

namespace ktstats {

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
  return json_text::ObjectWriter()
      .string(kRelayErrorKey, reason)
      .string(kRelayErrorKindKey, relay_error_kind_name(kind))
      .finish();
}

bool is_valid_nonce(std::string_view nonce) {
  if (nonce.empty() || nonce.size() > kMaxNonceBytes) return false;
  return std::all_of(nonce.begin(), nonce.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::string encode_sync_request(std::string_view nonce) {
  return encode_control_line(SyncLine{std::string(nonce)});
}

namespace {

// The relay's echo of a host's sync or open line: the line's key and id,
// then who answers.
json_text::ObjectWriter echo_object(std::string_view key, std::string_view id,
                                    std::string_view relay, std::string_view version) {
  json_text::ObjectWriter line;
  line.string(key, id).string("relay", relay).string("version", version);
  return line;
}

}  // namespace

std::string encode_sync_reply(const SyncReply& reply) {
  return echo_object(kSyncKey, reply.nonce, reply.relay, reply.version).finish();
}

std::string encode_control_line(const ControlLine& line) {
  struct Encode {
    std::string operator()(const SyncLine& sync) const { return keyed(kSyncKey, sync.nonce); }
    std::string operator()(const OpenLine& open) const { return keyed(kOpenKey, open.id); }
    std::string operator()(const SelectLine& select) const { return keyed(kSelectKey, select.id); }
    std::string operator()(const CloseLine& close) const { return keyed(kCloseKey, close.id); }
    static std::string keyed(std::string_view key, std::string_view id) {
      return json_text::ObjectWriter().string(key, id).finish();
    }
  };
  return std::visit(Encode{}, line);
}

// A control line is exactly {"<key>":"<id>"} with JSON whitespace between the
// tokens; a request line (the relay's every line) fails at its first key.
namespace {

// Whether the line opens an object whose first key starts "ktstats_": a
// control line's only key does, and the relay's every request line is
// turned away here without being read further.
bool opens_with_control_key(std::string_view line) {
  constexpr std::string_view kJsonSpace = " \t\r\n";
  const auto brace = line.find_first_not_of(kJsonSpace);
  if (brace == std::string_view::npos || line[brace] != '{') return false;
  const auto key = line.find_first_not_of(kJsonSpace, brace + 1);
  return key != std::string_view::npos && line.substr(key).starts_with("\"ktstats_");
}

}  // namespace

std::optional<ControlLine> decode_control_line(std::string_view line) {
  if (!opens_with_control_key(line)) return std::nullopt;
  const auto member = json_text::read_plain_member(line);
  if (!member || !is_valid_nonce(member->value)) return std::nullopt;
  std::string id(member->value);
  if (member->key == kSyncKey) return SyncLine{std::move(id)};
  if (member->key == kOpenKey) return OpenLine{std::move(id)};
  if (member->key == kSelectKey) return SelectLine{std::move(id)};
  if (member->key == kCloseKey) return CloseLine{std::move(id)};
  return std::nullopt;
}

std::string encode_open_reply(const OpenReply& reply) {
  auto line = echo_object(kOpenKey, reply.id, reply.relay, reply.version);
  return line.number("max_sessions", reply.max_sessions).finish();
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
