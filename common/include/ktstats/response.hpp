#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "ktstats/result.hpp"

namespace ktstats {

// An scx_stats response: {"errno":N,"args":...}.
struct Response {
  int errno_value = 0;        // 0 when absent
  boost::json::value args;    // null when absent
};

// Decodes a response line. The relay's error line becomes NoScheduler;
// anything else that is not a response envelope is a Protocol error.
Result<Response> decode_response(std::string_view line);

// The verb's payload, args.resp: SchedulerError for a non-zero errno,
// MissingResp when args is not an object holding "resp".
Result<boost::json::value> extract_resp(Response response);

// decode_response then extract_resp.
Result<boost::json::value> decode_resp_payload(std::string_view line);

}  // namespace ktstats
