#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ktstats {

// Text from the peer made safe for a terminal: control characters (C0, DEL,
// C1) and bytes that are not valid UTF-8 become visible escapes (\n, \x1b,
// \u009b), so a hostile payload cannot move the cursor or retitle a window.
// Longer input is cut at max_bytes with a trailing "...".
std::string escape_for_terminal(std::string_view text, std::size_t max_bytes = std::string::npos);

}  // namespace ktstats
