#include "cli/request_arg.hpp"

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {

std::optional<std::pair<std::string, std::string>> parse_request_arg(std::string_view text,
                                                                     std::string* why) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    if (why != nullptr) {
      *why = "'" + escape_for_terminal(text, 200) +
             (equals == 0 ? "' has an empty key" : "' is not KEY=VALUE");
    }
    return std::nullopt;
  }
  return std::pair{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

}  // namespace ktstats::cli
