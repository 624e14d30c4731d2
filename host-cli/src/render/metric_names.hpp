#pragma once

#include <string>
#include <string_view>

namespace ktstats::cli {

// The two text formats a scraper may ask for: OpenMetrics 1.0, and the
// Prometheus text format 0.0.4 (no "# EOF", quotes in HELP not escaped).
enum class ExpositionFormat { kOpenMetrics, kPrometheus };

// Names and texts from the guest made valid by the exposition rules. Names
// change one character at a time, so a name that is already valid stays as
// it is; two raw names may come out the same, which callers resolve.

// A metric name, [a-zA-Z_:][a-zA-Z0-9_:]*: each other character (a code
// point, or a byte that is not valid UTF-8) becomes '_'; a leading digit
// gets a '_' before it; an empty name becomes "_".
std::string metric_name(std::string_view raw);

// A label name, [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved
// for Prometheus' own labels): as metric_name, colons also becoming '_',
// and a leading run of underscores cut to one.
std::string label_name(std::string_view raw);

// A label value between its quotes: backslash, double quote and newline
// escaped; other characters a terminal would not show (controls, format
// characters) and bytes that are not valid UTF-8 become '?'.
std::string label_value_text(std::string_view raw);

// A HELP text: as a label value, except for double quotes. The Prometheus
// format takes them as they are; OpenMetrics wants them escaped, an escape
// promtool's parser rejects, so there they become single quotes.
std::string help_text(std::string_view raw, ExpositionFormat format);

// The name for the n-th holder of a base name (n >= 2): base_n.
std::string numbered_name(std::string_view base, std::size_t n);

}  // namespace ktstats::cli
