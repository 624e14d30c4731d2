#include "ktstats/duration.hpp"

#include <charconv>
#include <cmath>

#include "ktstats/terminal_text.hpp"

namespace ktstats {
namespace {

// Milliseconds in one unit, 0 for an unknown unit.
double unit_scale(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1000;
  if (unit == "ms") return 1;
  if (unit == "m" || unit == "min") return 60'000;
  if (unit == "h") return 3'600'000;
  return 0;
}

std::optional<std::chrono::milliseconds> rejected(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return std::nullopt;
}

std::string out_of_range(const std::string& quoted) {
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(kMaxDuration).count();
  return quoted + " is out of range: the longest accepted is " + std::to_string(hours) + "h";
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* why) {
  // Appended, not "'" + text: GCC 12 at -O3 reports a false -Wrestrict there.
  const auto quoted = [&] {
    return std::string("'").append(escape_for_terminal(text, 200)).append("'");
  };
  double number = 0;
  const auto* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, number);
  const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
  const double scale = unit_scale(unit);
  if (ec == std::errc::result_out_of_range && scale != 0) {
    return rejected(why, out_of_range(quoted()));
  }
  if (ec != std::errc() || rest == text.data() || !std::isfinite(number) || number < 0 ||
      scale == 0) {
    return rejected(why, quoted() + " is not a duration (500ms, 5s, 2m, 1h)");
  }
  // Compared before the conversion, which is undefined past long long.
  const double ms = std::round(number * scale);
  if (ms > static_cast<double>(kMaxDuration.count())) {
    return rejected(why, out_of_range(quoted()));
  }
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace ktstats
