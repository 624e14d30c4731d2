#pragma once

#include <cstddef>
#include <string_view>

#include <boost/json/value.hpp>

#include "ktstats/limits.hpp"
#include "ktstats/result.hpp"

namespace ktstats {

// Parses one wire line (no newline) as a single JSON value, bounded for
// untrusted input: nesting past max_depth, invalid UTF-8, raw NUL bytes,
// empty lines and trailing garbage are Protocol errors, never a crash.
Result<boost::json::value> parse_json_line(std::string_view line,
                                           std::size_t max_depth = kMaxJsonDepth);

// The start of a line, escaped, for error messages that show what was seen.
std::string line_excerpt(std::string_view line);

}  // namespace ktstats
