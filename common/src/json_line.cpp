#include "ktstats/json_line.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parser.hpp>

#include "ktstats/utf8.hpp"

namespace ktstats {
namespace {

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

Protocol syntax_error(std::string_view line, std::size_t offset, const std::string& why) {
  return Protocol{"invalid JSON at byte " + std::to_string(offset) + " (" + why +
                  "): " + line_excerpt(line)};
}

}  // namespace

Result<boost::json::value> parse_json_line(std::string_view line, std::size_t max_depth) {
  if (is_blank(line)) return Protocol{"empty line where a JSON object was expected"};
  if (const auto nul = line.find('\0'); nul != std::string_view::npos) {
    return Protocol{"line holds a NUL byte at offset " + std::to_string(nul) + ": " +
                    line_excerpt(line)};
  }
  if (const auto bad = find_invalid_utf8(line)) {
    return Protocol{"line is not valid UTF-8 (byte " + std::to_string(*bad) + "): " +
                    line_excerpt(line)};
  }

  boost::json::parse_options options;
  options.max_depth = max_depth;
  options.allow_invalid_utf8 = true;  // already checked above, with a better message
  boost::json::parser parser(boost::json::storage_ptr(), options);
  boost::json::error_code ec;
  const std::size_t used = parser.write_some(line.data(), line.size(), ec);
  if (ec == boost::json::error::too_deep) {
    return Protocol{"JSON nested deeper than " + std::to_string(max_depth) + " levels"};
  }
  if (ec) return syntax_error(line, used, ec.message());
  if (!is_blank(line.substr(used))) {
    return syntax_error(line, used, "trailing data after the value");
  }
  return parser.release();
}

}  // namespace ktstats
