#include "ktstats/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace ktstats {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Length of the well-formed sequence starting at text[i], 0 if ill-formed.
// Follows the table of well-formed byte sequences in the Unicode standard.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const std::size_t left = text.size() - i;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && is_continuation(at(1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !is_continuation(at(1)) || !is_continuation(at(2))) return 0;
    if (b0 == 0xE0 && at(1) < 0xA0) return 0;   // overlong
    if (b0 == 0xED && at(1) > 0x9F) return 0;   // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !is_continuation(at(1)) || !is_continuation(at(2)) ||
        !is_continuation(at(3)))
      return 0;
    if (b0 == 0xF0 && at(1) < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && at(1) > 0x8F) return 0;   // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::optional<CodePoint> decode_utf8(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto b0 = static_cast<unsigned char>(text[0]);
  if (b0 < 0x80) return CodePoint{b0, 1};
  const std::size_t n = sequence_length(text, 0);
  if (n == 0) return std::nullopt;
  char32_t value = b0 & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) value = (value << 6) | (static_cast<unsigned char>(text[k]) & 0x3F);
  return CodePoint{value, n};
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // ASCII fast path, eight bytes at a time.
    if (text.size() - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = sequence_length(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

}  // namespace ktstats
