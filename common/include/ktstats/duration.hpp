#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ktstats {

// "10s", "250ms", "1.5s", "2m", "1h", or a bare number of seconds. nullopt
// for anything else, negative values included.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest of those forms that reads back to the same value.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace ktstats
