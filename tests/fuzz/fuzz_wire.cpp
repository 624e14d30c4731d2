// Feeds arbitrary bytes through the line framer and every wire decoder, and
// checks the properties that must hold for any input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json/serialize.hpp>

#include "ktstats/json_line.hpp"
#include "ktstats/line_framer.hpp"
#include "ktstats/relay_line.hpp"
#include "ktstats/terminal_text.hpp"
#include "ktstats/utf8.hpp"
#include "wire/request.hpp"
#include "wire/response.hpp"

namespace {

constexpr std::size_t kFuzzLineCap = 4096;

void require(bool condition) {
  if (!condition) std::abort();
}

// Valid UTF-8 holding nothing a terminal would hide: every such character
// has become an escape.
void check_terminal_safe(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto point = ktstats::decode_utf8(text.substr(i));
    require(point.has_value() && !ktstats::is_hidden_on_terminal(point->value));
    i += point->bytes;
  }
}

// A message may keep the lines of a scheduler's error text: each line
// terminal safe, each after the first indented or blank.
void check_message_safe(std::string_view text) {
  for (std::size_t start = 0;;) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end == std::string_view::npos ? end : end - start);
    require(start == 0 || line.empty() || line.substr(0, 2) == "  ");
    check_terminal_safe(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

// The relay's own recogniser, which uses no JSON library: what it takes is
// a one-member object as Boost.JSON reads it too, and re-encodes to itself.
void check_control_line(std::string_view line) {
  const auto control = ktstats::decode_control_line(line);
  if (!control) return;
  require(ktstats::decode_control_line(ktstats::encode_control_line(*control)) == control);
  auto parsed = ktstats::parse_json_line(line);
  require(parsed.ok() && parsed->is_object() && parsed->as_object().size() == 1);
  require(boost::json::serialize(*parsed) == ktstats::encode_control_line(*control));
}

// The relay's own JSON string writer: any bytes as a reason give a line
// with no raw control byte, which Boost.JSON reads back to the same bytes
// when they are UTF-8.
void check_relay_error_encoding(std::string_view reason) {
  const auto line = ktstats::encode_relay_error(ktstats::RelayErrorKind::kTimeout, reason);
  for (const char c : line) require(static_cast<unsigned char>(c) >= 0x20);
  if (ktstats::find_invalid_utf8(reason)) return;
  auto parsed = ktstats::parse_json_line(line);
  require(parsed.ok());
  const auto decoded = ktstats::decode_relay_error(*parsed);
  require(decoded && decoded->reason == reason && decoded->kind == ktstats::RelayErrorKind::kTimeout);
}

void check_line(std::string_view line) {
  require(line.size() <= kFuzzLineCap);

  if (auto request = ktstats::decode_request(line)) {
    // What decodes re-encodes, and the encoding decodes to the same request.
    auto encoded = ktstats::encode_request(*request);
    if (encoded) {
      auto again = ktstats::decode_request(*encoded);
      require(again.ok() && *again == *request);
    }
  } else {
    check_terminal_safe(ktstats::describe(request.error()));
  }

  auto payload = ktstats::decode_resp_payload(line);
  if (!payload) check_message_safe(ktstats::describe(payload.error()));

  if (auto nonce = ktstats::decode_sync_request(line)) {
    require(ktstats::decode_sync_request(ktstats::encode_sync_request(*nonce)) == nonce);
  }
  (void)ktstats::decode_sync_reply(line);
  check_control_line(line);
  check_relay_error_encoding(line);
  check_terminal_safe(ktstats::escape_for_terminal(line));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the chunk size, so splits land anywhere.
  const std::size_t chunk = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ktstats::LineFramer framer(kFuzzLineCap);
  while (!bytes.empty()) {
    const auto piece = bytes.substr(0, chunk);
    bytes.remove_prefix(piece.size());
    framer.feed(piece);
    require(framer.partial_bytes() <= kFuzzLineCap + 1);
    while (auto frame = framer.next()) {
      if (const auto* line = std::get_if<std::string>(&*frame)) check_line(*line);
    }
  }
  return 0;
}
