#include "wire/request.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "ktstats/json_line.hpp"
#include "ktstats/terminal_text.hpp"
#include "ktstats/utf8.hpp"

namespace ktstats {
namespace {

Status check_utf8(std::string_view what, std::string_view text) {
  if (find_invalid_utf8(text)) {
    return Protocol{std::string(what) + " is not valid UTF-8: " + line_excerpt(text)};
  }
  return Ok{};
}

Status check_strings(const Request& request) {
  if (auto s = check_utf8("request verb", request.req); !s) return s;
  for (const auto& [key, value] : request.args) {
    if (auto s = check_utf8("argument name", key); !s) return s;
    if (auto s = check_utf8("value of argument '" + key + "'", value); !s) return s;
  }
  return Ok{};
}

}  // namespace

Result<std::string> encode_request(const Request& request, std::size_t max) {
  if (auto s = check_strings(request); !s) return std::move(s).error();
  boost::json::object envelope;
  envelope["req"] = request.req;
  if (!request.args.empty()) {
    boost::json::object args;
    for (const auto& [key, value] : request.args) args[key] = value;
    envelope["args"] = std::move(args);
  }
  std::string line = boost::json::serialize(envelope);
  const std::size_t on_wire = line.size() + 1;
  if (on_wire > max) return RequestTooLarge{on_wire, max};
  return line;
}

Result<Request> decode_request(std::string_view line) {
  auto parsed = parse_json_line(line);
  if (!parsed) return std::move(parsed).error();
  const auto* envelope = parsed->if_object();
  if (envelope == nullptr) return Protocol{"request is not a JSON object: " + line_excerpt(line)};

  Request request;
  const auto* verb = envelope->if_contains("req");
  if (verb == nullptr) return Protocol{"request has no \"req\": " + line_excerpt(line)};
  if (!verb->is_string()) return Protocol{"request \"req\" is not a string: " + line_excerpt(line)};
  request.req = verb->get_string();

  if (const auto* args = envelope->if_contains("args")) {
    const auto* map = args->if_object();
    if (map == nullptr) return Protocol{"request \"args\" is not an object: " + line_excerpt(line)};
    for (const auto& [key, value] : *map) {
      if (!value.is_string()) {
        return Protocol{"request argument '" + escape_for_terminal(key, 64) + "' is not a string"};
      }
      request.args.emplace(key, value.get_string());
    }
  }
  return request;
}

}  // namespace ktstats
