#include "wire/response.hpp"

#include <limits>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "ktstats/json_line.hpp"
#include "ktstats/limits.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats {
namespace {

Result<int> decode_errno(const boost::json::value& value, std::string_view line) {
  const bool integral = value.is_int64() || value.is_uint64();
  if (!integral) return Protocol{"response \"errno\" is not an integer: " + line_excerpt(line)};
  constexpr auto lo = std::numeric_limits<int>::min();
  constexpr auto hi = std::numeric_limits<int>::max();
  if (value.is_uint64()) {
    if (value.get_uint64() > static_cast<std::uint64_t>(hi)) {
      return Protocol{"response \"errno\" is out of range: " + line_excerpt(line)};
    }
    return static_cast<int>(value.get_uint64());
  }
  const auto n = value.get_int64();
  if (n < lo || n > hi) return Protocol{"response \"errno\" is out of range: " + line_excerpt(line)};
  return static_cast<int>(n);
}

Error error_of_kind(RelayErrorLine line) {
  if (!line.kind) return NoScheduler{std::move(line.reason)};
  switch (*line.kind) {
    case RelayErrorKind::kNoScheduler: break;
    case RelayErrorKind::kTimeout:
      return Timeout{std::chrono::milliseconds(0), Awaited::kAnswer, std::move(line.reason)};
    case RelayErrorKind::kOversize:
      return ResponseTooLarge{0, kMaxLineBytes, std::move(line.reason)};
    case RelayErrorKind::kClosed:
      return Transport{"the scheduler closed the connection", 0, std::move(line.reason)};
    case RelayErrorKind::kQueueFull: return RelayQueueFull{std::move(line.reason)};
    case RelayErrorKind::kRequestTooLarge:
      return RequestTooLarge{0, kMaxLineBytes, std::move(line.reason)};
    // Both are temporary for the relay: a host past the session limit may
    // try again later, as with a full queue.
    case RelayErrorKind::kSessionLimit: return RelayQueueFull{std::move(line.reason), true};
    // A host of ours never sends a request outside its session.
    case RelayErrorKind::kNoSession: return Protocol{"relay: " + line.reason};
  }
  return NoScheduler{std::move(line.reason)};
}

}  // namespace

std::optional<Error> relay_line_error(const boost::json::value& value) {
  auto line = decode_relay_error(value);
  if (!line) return std::nullopt;
  return error_of_kind(std::move(*line));
}

Result<Response> decode_response(std::string_view line) {
  auto parsed = parse_json_line(line);
  if (!parsed) return std::move(parsed).error();
  if (auto error = relay_line_error(*parsed)) return std::move(*error);

  auto* envelope = parsed->if_object();
  if (envelope == nullptr) return Protocol{"response is not a JSON object: " + line_excerpt(line)};

  Response response;
  if (const auto* errno_value = envelope->if_contains("errno")) {
    auto decoded = decode_errno(*errno_value, line);
    if (!decoded) return std::move(decoded).error();
    response.errno_value = *decoded;
  }
  if (auto* args = envelope->if_contains("args")) response.args = std::move(*args);
  return response;
}

namespace {

PeerValue peer_value(const boost::json::value& value) {
  if (const auto* text = value.if_string()) return {std::string(*text)};
  return {boost::json::serialize(value)};
}

}  // namespace

Result<boost::json::value> extract_resp(Response response) {
  auto* args = response.args.if_object();
  auto* resp = args == nullptr ? nullptr : args->if_contains("resp");
  if (response.errno_value != 0) {
    std::optional<std::string> text;
    if (resp != nullptr && resp->is_string()) text = std::string(resp->get_string());
    return SchedulerError{response.errno_value, std::move(text), peer_value(response.args)};
  }
  if (resp == nullptr) return MissingResp{peer_value(response.args)};
  return std::move(*resp);
}

Result<boost::json::value> decode_resp_payload(std::string_view line) {
  auto response = decode_response(line);
  if (!response) return std::move(response).error();
  return extract_resp(std::move(*response));
}

bool is_error_answer(std::string_view line) {
  auto value = parse_json_line(line);
  if (!value) return false;
  if (decode_relay_error(*value)) return true;
  const auto* object = value->if_object();
  const auto* errno_value = object == nullptr ? nullptr : object->if_contains("errno");
  if (errno_value == nullptr) return false;
  return (errno_value->is_int64() && errno_value->get_int64() != 0) ||
         (errno_value->is_uint64() && errno_value->get_uint64() != 0);
}

}  // namespace ktstats
