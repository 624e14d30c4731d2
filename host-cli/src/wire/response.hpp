#pragma once

#include <optional>
#include <string_view>

#include <boost/json/value.hpp>

#include "ktstats/error.hpp"
#include "ktstats/result.hpp"

namespace ktstats {

// An scx_stats response: {"errno":N,"args":...}.
struct Response {
  int errno_value = 0;        // 0 when absent
  boost::json::value args;    // null when absent
};

// Decodes a response line. The relay's error line becomes the error of its
// kind (see relay_line_error); anything else that is not a response
// envelope is a Protocol error.
Result<Response> decode_response(std::string_view line);

// The error a relay error line stands for, if the value is one: the type
// the same fault has on a direct connection (a timeout is a Timeout, a
// scheduler that closed is a Transport error), with the relay's reason.
// No kind, or one not known here, is NoScheduler, as ktstr's relay means it.
std::optional<Error> relay_line_error(const boost::json::value& value);

// The verb's payload, args.resp: SchedulerError for a non-zero errno,
// MissingResp when args is not an object holding "resp".
Result<boost::json::value> extract_resp(Response response);

// decode_response then extract_resp.
Result<boost::json::value> decode_resp_payload(std::string_view line);

// Whether a line is an error answer: a relay error line, or an answer with
// a non-zero errno. A relay without sessions answers an open line so.
bool is_error_answer(std::string_view line);

}  // namespace ktstats
