#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ktstats {

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included), or
// nullopt when the whole text is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace ktstats
