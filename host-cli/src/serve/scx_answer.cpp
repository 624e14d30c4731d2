#include "serve/scx_answer.hpp"

#include <cerrno>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats::serve {
namespace {

int errno_for(std::optional<RelayErrorKind> kind) {
  if (!kind) return ECONNREFUSED;
  switch (*kind) {
    case RelayErrorKind::kNoScheduler: return ECONNREFUSED;
    case RelayErrorKind::kTimeout: return ETIMEDOUT;
    case RelayErrorKind::kOversize: return EMSGSIZE;
    case RelayErrorKind::kClosed: return ECONNRESET;
    case RelayErrorKind::kQueueFull: return EAGAIN;
    case RelayErrorKind::kRequestTooLarge: return EMSGSIZE;
    case RelayErrorKind::kNoSession: return EAGAIN;
    case RelayErrorKind::kSessionLimit: return EAGAIN;
  }
  return ECONNREFUSED;
}

}  // namespace

std::string error_answer(int errno_value, std::string_view text) {
  boost::json::object args;
  args["resp"] = text;
  boost::json::object answer;
  answer["errno"] = errno_value;
  answer["args"] = std::move(args);
  return boost::json::serialize(answer);
}

std::string invalid_request_answer(std::string_view why) {
  return error_answer(EINVAL, "Invalid argument (os error 22)\n\nCaused by:\n    " + std::string(why));
}

std::optional<TranslatedRelayError> translate_relay_error(std::string_view vm_name,
                                                          std::string_view line) {
  // The relay writes its error lines with this key first; a scheduler's
  // answer starts otherwise, so most lines are never parsed here.
  static const std::string kPrefix = "{\"" + std::string(kRelayErrorKey) + "\"";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  auto value = parse_json_line(line);
  if (!value) return std::nullopt;
  auto error = decode_relay_error(*value);
  if (!error) return std::nullopt;
  std::string text = std::string(vm_name) + ": the relay in the VM could not get an answer: " +
                     error->reason;
  if (error->kind == RelayErrorKind::kNoSession) text += " (the next request opens a new session)";
  if (error->kind == RelayErrorKind::kSessionLimit) {
    text += " (every session the relay allows is held: each connected client of this VM holds one "
            "from its first request until it disconnects; the next request tries again)";
  }
  return TranslatedRelayError{error_answer(errno_for(error->kind), text), error->kind,
                              error->kind == RelayErrorKind::kNoSession};
}

}  // namespace ktstats::serve
