#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace ktstats::cli {

// JSON text for output: compact (one line) or indented, always valid JSON.
// Numbers in their shortest form (42.5, not 4.25E1); a number past the range
// of a double as the largest finite one of its sign. Every character a
// terminal would not show as itself (is_hidden_on_terminal: controls, bidi
// and zero-width characters, U+2028/2029) is a \u escape, so the text is
// safe and unambiguous on a terminal and decodes to the same strings.
std::string to_json_text(const boost::json::value& value, bool indent);

}  // namespace ktstats::cli
