#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ktstats/result.hpp"
#include "metrics/web_config.hpp"

namespace ktstats::metrics {

// A request as a route sees it: already parsed, within the limits,
// authenticated where the web configuration asks for it.
struct HttpRequest {
  bool head = false;   // HEAD: the body is left out of the answer
  std::string path;    // the target without its query
  std::string query;   // after '?', undecoded; empty when none
  std::string accept;  // the Accept header; empty when none
  // Prometheus' X-Prometheus-Scrape-Timeout-Seconds, when sent and valid.
  std::optional<std::chrono::milliseconds> scrape_timeout;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type;  // e.g. "text/plain; version=0.0.4; charset=utf-8"
  std::string body;
};

// Answers a request once, on the io_context's thread, whenever it is ready.
// The connection waits for it (the route bounds its own time); a Respond
// dropped without being called closes the connection.
using Respond = std::function<void(HttpResponse)>;
using Route = std::function<void(const HttpRequest&, Respond)>;

struct HttpLimits {
  std::size_t max_connections = 64;
  std::size_t max_header_bytes = 8 * 1024;  // past it: 414 (the request line) or 431
  // A connection that has not sent a whole request within this long (or
  // has not read its answer) is closed.
  std::chrono::milliseconds request_timeout{10'000};
  // A kept-alive connection with no request for this long is closed.
  std::chrono::milliseconds idle_timeout{60'000};
};

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9477";  // HOST:PORT; [V6]:PORT; port 0 takes any
  std::optional<WebConfig> web;           // TLS and basic auth; none: plain HTTP, no auth
  HttpLimits limits;
};

// An HTTP/1.1 server on the io_context's thread: GET and HEAD on the routes
// added, 404 for any other path, 405 (with Allow) for another method, 400
// for a request it cannot parse, 431 for headers over the limit, 401 with
// WWW-Authenticate when basic auth is configured and the credentials are
// missing or wrong, 413 for a body over 4 KiB. Past max_connections a
// connection is answered 503 (its request read within the limits) and
// closed; past twice that it is closed at once. Keep-alive as the client
// asks. docs/METRICS-HTTP.md has the details.
class HttpServer {
 public:
  // Binds and listens at once (so a port in use is an error here), serving
  // once the io_context runs.
  static Result<std::unique_ptr<HttpServer>> create(boost::asio::io_context& io,
                                                    const HttpServerOptions& options);
  virtual ~HttpServer() = default;

  // Before the io_context runs.
  virtual void add_route(std::string path, Route route) = 0;
  // The address bound, "HOST:PORT" (the port chosen when 0 was asked).
  virtual std::string local_address() const = 0;
  // Stops accepting and closes every connection; on the io_context's thread,
  // before the io_context is destroyed (it waits for a bcrypt check under
  // way, which would post its verdict to the io_context).
  virtual void stop() = 0;
};

}  // namespace ktstats::metrics
