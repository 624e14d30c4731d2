#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace ktstats::cli {

// JSON text for output: compact (one line) or indented. Numbers in their
// shortest form (42.5, not 4.25E1); DEL and C1 controls escaped as well as
// C0, so the text is safe on a terminal and still valid JSON.
std::string to_json_text(const boost::json::value& value, bool indent);

}  // namespace ktstats::cli
