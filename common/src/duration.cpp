#include "ktstats/duration.hpp"

#include <algorithm>
#include <cstdint>

#include "ktstats/terminal_text.hpp"

namespace ktstats {
namespace {

// Milliseconds in one unit, 0 for an unknown unit.
std::uint64_t unit_scale(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1000;
  if (unit == "ms") return 1;
  if (unit == "m" || unit == "min") return 60'000;
  if (unit == "h") return 3'600'000;
  return 0;
}

// A decimal number of units, read in integers: floating-point parsing
// would link its tables into the static relay, which reads durations too.
struct Decimal {
  std::uint64_t whole = 0;      // saturates far above any accepted duration
  std::uint64_t fraction = 0;   // the first nine digits after the point: ns, far
  std::uint64_t fraction_scale = 1;  // below the millisecond the result is rounded to
  std::size_t length = 0;       // characters taken
};

constexpr std::uint64_t kSaturated = std::uint64_t{1} << 52;
constexpr std::uint64_t kFractionScaleMax = 1'000'000'000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// DIGITS[.DIGITS] or .DIGITS; nullopt when there is no digit.
std::optional<Decimal> read_decimal(std::string_view text) {
  Decimal number;
  std::size_t i = 0;
  bool any_digit = false;
  for (; i < text.size() && is_digit(text[i]); ++i, any_digit = true) {
    number.whole = std::min(kSaturated, number.whole * 10 + static_cast<std::uint64_t>(text[i] - '0'));
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && is_digit(text[i]); ++i, any_digit = true) {
      if (number.fraction_scale == kFractionScaleMax) continue;
      number.fraction = number.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
      number.fraction_scale *= 10;
    }
  }
  if (!any_digit) return std::nullopt;
  number.length = i;
  return number;
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
  const auto number = read_decimal(text);
  const std::uint64_t scale = number ? unit_scale(text.substr(number->length)) : 0;
  if (scale == 0) return rejected(why, quoted() + " is not a duration (500ms, 5s, 2m, 1h)");
  const auto max = static_cast<std::uint64_t>(kMaxDuration.count());
  if (number->whole > max) return rejected(why, out_of_range(quoted()));
  // Rounded to the nearest millisecond, halves up.
  const std::uint64_t ms =
      number->whole * scale +
      (2 * number->fraction * scale + number->fraction_scale) / (2 * number->fraction_scale);
  if (ms > max) return rejected(why, out_of_range(quoted()));
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace ktstats
