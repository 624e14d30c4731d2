#include "client/endpoint.hpp"

#include "ktstats/terminal_text.hpp"
#include "ktstats/tty.hpp"
#include "ktstats/unix_socket.hpp"
#include "client/pipe_channel.hpp"

namespace ktstats::cli {
namespace {

// What the user typed, quoted back without its control characters.
std::string shown(std::string_view uri) { return escape_for_terminal(uri, 200); }

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view uri, std::string* why) {
  struct Scheme {
    std::string_view prefix;
    Endpoint::Kind kind;
  };
  static constexpr Scheme kSchemes[] = {{"unix:", Endpoint::Kind::kUnix},
                                        {"pty:", Endpoint::Kind::kTty},
                                        {"tty:", Endpoint::Kind::kTty},
                                        {"pipe:", Endpoint::Kind::kPipe},
                                        {"scx:", Endpoint::Kind::kScx}};
  for (const auto& scheme : kSchemes) {
    if (uri.substr(0, scheme.prefix.size()) != scheme.prefix) continue;
    const auto path = uri.substr(scheme.prefix.size());
    if (path.empty()) {
      if (why) *why = "'" + shown(uri) + "' has no path after '" + std::string(scheme.prefix) + "'";
      return std::nullopt;
    }
    return Endpoint{scheme.kind, std::string(path), std::string(uri)};
  }
  if (why) {
    *why = "'" + shown(uri) +
           "' is not a connection URI (unix:PATH, pty:PATH, tty:PATH, pipe:PATH or scx:PATH)";
    if (!uri.empty() && uri.front() == '/') *why += "; did you mean unix:" + shown(uri) + "?";
  }
  return std::nullopt;
}

Result<std::unique_ptr<Channel>> open_endpoint(const Endpoint& endpoint) {
  switch (endpoint.kind) {
    case Endpoint::Kind::kUnix:
    case Endpoint::Kind::kScx:
      return open_unix_channel(endpoint.path, AfterEof::kFinished);
    case Endpoint::Kind::kTty:
      return open_tty_channel(endpoint.path);
    case Endpoint::Kind::kPipe:
      return open_pipe_channel(endpoint.path);
  }
  return Transport{"unknown endpoint"};
}

}  // namespace ktstats::cli
