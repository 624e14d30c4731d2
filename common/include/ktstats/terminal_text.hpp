#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ktstats {

// Characters a terminal would not show as themselves: controls (C0, DEL,
// C1), format characters (bidi controls, zero-width characters, the BOM,
// soft hyphen, tag characters: Unicode category Cf) and the line and
// paragraph separators U+2028, U+2029. They can move the cursor, reorder
// the text around them or hide in it.
bool is_hidden_on_terminal(char32_t code_point);

// Text from the peer made safe and unambiguous on a terminal: a backslash
// becomes \\, hidden characters become escapes (\n, \r, \t, \x1b, \u202e,
// \U000e0041) and bytes that are not valid UTF-8 become \xHH (always 0x80
// or above, so never confused with an escaped ASCII control). Longer input
// is cut at max_bytes, back to a character boundary, with "..." appended.
std::string escape_for_terminal(std::string_view text, std::size_t max_bytes = std::string::npos);

}  // namespace ktstats
