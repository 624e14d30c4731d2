#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <variant>

#include <boost/json/value.hpp>

namespace ktstats {

// The failure modes of a stats request, one type each, so that callers
// branch on the type and the program edge maps each to an exit code.

struct RequestTooLarge {
  std::size_t size;  // bytes on the wire, newline included
  std::size_t max;
};

struct ResponseTooLarge {
  std::size_t size;  // bytes of the line seen when the cap was crossed
  std::size_t max;
};

// The relay answered with its error line: it could not get an answer from
// a scheduler.
struct NoScheduler {
  std::string reason;
};

// The scheduler answered with a non-zero errno.
struct SchedulerError {
  int errno_value;
  boost::json::value args;
};

// A successful envelope whose args carry no "resp".
struct MissingResp {
  boost::json::value args;
};

struct Cancelled {};

struct Timeout {
  std::chrono::milliseconds after;
  std::string waiting_for;  // what did not come: "the relay's sync echo"; may be empty
};

// Connecting, reading or writing failed, or the peer closed.
struct Transport {
  std::string what;
  int error = 0;  // errno, 0 when there is none (peer closed)
};

// A line that is not valid JSON or not of the expected shape.
struct Protocol {
  std::string what;
};

using Error = std::variant<RequestTooLarge, ResponseTooLarge, NoScheduler, SchedulerError,
                           MissingResp, Cancelled, Timeout, Transport, Protocol>;

// One line for people. Text that came from the peer is escaped, so the
// result is safe to print to a terminal.
std::string describe(const Error& error);

}  // namespace ktstats
