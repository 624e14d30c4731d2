#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ktstats::cli {

// One --arg KEY=VALUE: split at the first '='; the value may hold more.
// nullopt and the reason when there is no '=' or the key is empty.
std::optional<std::pair<std::string, std::string>> parse_request_arg(std::string_view text,
                                                                     std::string* why = nullptr);

}  // namespace ktstats::cli
