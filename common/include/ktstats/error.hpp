#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <optional>
#include <variant>

namespace ktstats {

// The failure modes of a stats request, one type each, so that callers
// branch on the type and the program edge maps each to an exit code.
//
// A fault that the relay met in the guest and reported in its error line
// is the same type as that fault met on a direct connection, with
// `relay_reason` holding the relay's words (empty when the fault was met
// here); see decode_response().

struct RequestTooLarge {
  std::size_t size;  // bytes on the wire, newline included; 0 if the relay saw it
  std::size_t max;
  std::string relay_reason = {};
};

struct ResponseTooLarge {
  std::size_t size;  // bytes of the line seen when the cap was crossed; 0 if the relay saw it
  std::size_t max;
  std::string relay_reason = {};
};

// The relay answered that it could not reach a scheduler (or with an error
// line of no kind it knows).
struct NoScheduler {
  std::string reason;
};

// The relay's queue for this session was full: too many requests sent
// without waiting for their answers. Or, with session_limit, the relay had
// as many sessions open as it allows and refused ours.
struct RelayQueueFull {
  std::string reason;
  bool session_limit = false;
};

// What a request asked the scheduler for, as far as messages need it.
struct Asked {
  std::string verb;  // "stats", "stats_meta"; empty when not known
  std::map<std::string, std::string> args;
};

// A peer's JSON value as messages show it: a string's text, anything else
// in compact JSON. Reduced when the answer is decoded, so that the error
// types hold no JSON document (the static relay links no JSON library).
struct PeerValue {
  std::string text;

  bool operator==(const PeerValue&) const = default;
};

// The scheduler answered with a non-zero errno.
struct SchedulerError {
  int errno_value;
  // Upstream servers put the error's text, possibly several lines, in
  // args.resp: that text when it is a string; nullopt otherwise.
  std::optional<std::string> resp;
  PeerValue args;    // what is shown when there is no resp text
  Asked asked = {};  // the request it answers; the hint depends on it
};

// A successful envelope whose args carry no "resp".
struct MissingResp {
  PeerValue args;
};

struct Cancelled {};

// What a timed-out wait was for; the hint depends on it.
enum class Awaited {
  kUnnamed,
  kSyncEcho,           // the relay's echo of our open or sync line
  kAnswer,             // the answer to a request
  kPeerTakingRequest,  // the peer to read the request we are writing
};

// "the relay's sync echo", for messages; empty for kUnnamed.
std::string_view awaited_text(Awaited awaited);

struct Timeout {
  std::chrono::milliseconds after;  // 0 if the relay's timeout ran out
  Awaited awaited = Awaited::kUnnamed;
  std::string relay_reason = {};
};

// Connecting, reading or writing failed, or the peer closed.
struct Transport {
  std::string what;
  int error = 0;  // errno, 0 when there is none (peer closed)
  std::string relay_reason = {};  // the scheduler closed on the relay
};

// A line that is not valid JSON or not of the expected shape.
struct Protocol {
  std::string what;
};

using Error = std::variant<RequestTooLarge, ResponseTooLarge, NoScheduler, RelayQueueFull,
                           SchedulerError, MissingResp, Cancelled, Timeout, Transport, Protocol>;

// For people: one line, except a scheduler's error text of several lines,
// which keeps them, each after the first indented by two spaces. Text that
// came from the peer is escaped, so the result is safe to print to a
// terminal.
std::string describe(const Error& error);

}  // namespace ktstats
