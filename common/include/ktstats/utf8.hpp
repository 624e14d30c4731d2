#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ktstats {

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included), or
// nullopt when the whole text is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

struct CodePoint {
  char32_t value;
  std::size_t bytes;  // length of its UTF-8 sequence
};

// The code point at the start of the text, or nullopt when the text does not
// start with a well-formed UTF-8 sequence (or is empty).
std::optional<CodePoint> decode_utf8(std::string_view text);

}  // namespace ktstats
