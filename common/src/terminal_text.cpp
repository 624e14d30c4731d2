#include "ktstats/terminal_text.hpp"

#include <cstdio>

#include "ktstats/utf8.hpp"

namespace ktstats {
namespace {

void append_hex_escape(std::string& out, const char* prefix, unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, value);
  out += buf;
}

void append_ascii(std::string& out, unsigned char c) {
  switch (c) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  if (c < 0x20 || c == 0x7F) {
    append_hex_escape(out, "\\x", c, 2);
  } else {
    out += static_cast<char>(c);
  }
}

}  // namespace

std::string escape_for_terminal(std::string_view text, std::size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      append_ascii(out, c);
      ++i;
      continue;
    }
    const std::string_view rest = text.substr(i);
    const auto bad = find_invalid_utf8(rest.substr(0, std::min<std::size_t>(rest.size(), 4)));
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (bad.has_value() && *bad == 0) {
      append_hex_escape(out, "\\x", c, 2);
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) are encoded C2 80..C2 9F.
    if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      append_hex_escape(out, "\\u", static_cast<unsigned char>(text[i + 1]), 4);
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  if (cut) out += "...";
  return out;
}

}  // namespace ktstats
