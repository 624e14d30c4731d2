#include "ktstats/terminal_text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "ktstats/utf8.hpp"

namespace ktstats {
namespace {

// Unicode 15's format characters (category Cf), as closed ranges.
constexpr std::array<std::pair<char32_t, char32_t>, 21> kFormatRanges{{
    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
    {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},
    {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F},
}};

bool is_format_character(char32_t code_point) {
  const auto* after = std::upper_bound(
      kFormatRanges.begin(), kFormatRanges.end(), code_point,
      [](char32_t value, const std::pair<char32_t, char32_t>& range) { return value < range.first; });
  return after != kFormatRanges.begin() && code_point <= std::prev(after)->second;
}

void append_hex_escape(std::string& out, const char* prefix, unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, value);
  out += buf;
}

void append_ascii(std::string& out, char c) {
  switch (c) {
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  if (is_hidden_on_terminal(static_cast<unsigned char>(c))) {
    append_hex_escape(out, "\\x", static_cast<unsigned char>(c), 2);
  } else {
    out += c;
  }
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Where to cut the text to at most max_bytes without splitting a character
// (which would show as invalid bytes the peer never sent).
std::size_t cut_point(std::string_view text, std::size_t max_bytes) {
  std::size_t start = max_bytes;
  while (start > 0 && max_bytes - start < 3 && is_continuation(text[start])) --start;
  const auto point = decode_utf8(text.substr(start));
  return point && start + point->bytes > max_bytes ? start : max_bytes;
}

}  // namespace

bool is_hidden_on_terminal(char32_t code_point) {
  if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F)) return true;
  if (code_point == 0x2028 || code_point == 0x2029) return true;
  return is_format_character(code_point);
}

std::string escape_for_terminal(std::string_view text, std::size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, cut_point(text, max_bytes));
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      append_ascii(out, text[i]);
      ++i;
      continue;
    }
    const auto point = decode_utf8(text.substr(i));
    if (!point) {
      append_hex_escape(out, "\\x", static_cast<unsigned char>(text[i]), 2);
      ++i;
      continue;
    }
    if (!is_hidden_on_terminal(point->value)) {
      out.append(text.substr(i, point->bytes));
    } else if (point->value <= 0xFFFF) {
      append_hex_escape(out, "\\u", point->value, 4);
    } else {
      append_hex_escape(out, "\\U", point->value, 8);
    }
    i += point->bytes;
  }
  if (cut) out += "...";
  return out;
}

}  // namespace ktstats
