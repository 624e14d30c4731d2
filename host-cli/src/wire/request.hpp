#pragma once

#include <map>
#include <string>
#include <string_view>

#include "ktstats/limits.hpp"
#include "ktstats/result.hpp"

namespace ktstats {

// An scx_stats request: {"req":VERB,"args":{...}}. args maps strings to
// strings, as upstream's server requires.
struct Request {
  std::string req;
  std::map<std::string, std::string> args;

  bool operator==(const Request&) const = default;
};

// The wire line, without its newline, byte for byte what the scx_stats Rust
// client sends: "req" then "args", args keys in byte order, no spaces, and
// no "args" at all when it is empty. RequestTooLarge when the line and its
// newline exceed max; Protocol when a string is not valid UTF-8.
Result<std::string> encode_request(const Request& request, std::size_t max = kMaxLineBytes);

// Accepts a missing "args"; rejects anything else upstream would.
Result<Request> decode_request(std::string_view line);

}  // namespace ktstats
