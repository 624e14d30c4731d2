#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ktstats::cli {

// What users type into a request, checked before anything connects.

// One --arg KEY=VALUE: split at the first '='; the value may hold more.
// nullopt and the reason when there is no '=', the key is empty, or the
// text is not valid UTF-8 (JSON strings must be).
std::optional<std::pair<std::string, std::string>> parse_request_arg(std::string_view text,
                                                                     std::string* why = nullptr);

// The line of `raw`, sent as given, JSON or not. nullopt and the reason when
// it is empty or blank (no request at all: the scheduler would wait for
// one), holds a newline or carriage return (it would be two requests), or
// is over the line cap.
std::optional<std::string> parse_raw_line(std::string_view text, std::string* why = nullptr);

}  // namespace ktstats::cli
