#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ktstats/relay_line.hpp"

namespace ktstats::serve {

// Answers serve writes itself, in the shape of upstream scx_stats' error
// answers, so every scx_stats client can show them:
//   {"errno":N,"args":{"resp":"TEXT"}}
std::string error_answer(int errno_value, std::string_view text);

// What upstream's server answers to a line it cannot take: errno EINVAL.
std::string invalid_request_answer(std::string_view why);

// A relay error line (docs/PROTOCOL.md) turned into an error answer naming
// the VM, with an errno fitting its kind; nullopt when the line is not one.
struct TranslatedRelayError {
  std::string answer;
  std::optional<RelayErrorKind> kind;  // absent or unknown: nullopt
  bool session_lost = false;  // "no_session": the relay no longer has the session
};
std::optional<TranslatedRelayError> translate_relay_error(std::string_view vm_name,
                                                          std::string_view line);

}  // namespace ktstats::serve
