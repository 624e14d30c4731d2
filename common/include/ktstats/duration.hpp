#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ktstats {

// The longest duration accepted anywhere: a day. Far above any sensible
// timeout or interval, and far below what poll()'s int milliseconds and the
// clock's nanoseconds can hold, so no deadline computed from one overflows.
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24);

// "10s", "250ms", "1.5s", "2m", "1h", or a bare number of seconds, at most
// kMaxDuration. nullopt for anything else, negative values included, and
// the reason in *why when given.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::string* why = nullptr);

// The shortest of those forms that reads back to the same value.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace ktstats
