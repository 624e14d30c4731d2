// The HTTP server on its own io_context thread, bound to 127.0.0.1:0, with
// test routes, spoken to over real TCP sockets (and TLS through OpenSSL).
#include "metrics/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_files.hpp"

namespace ktstats::metrics {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

// Every blocking call on a test socket gives up after this.
constexpr auto kSocketTimeout = 10s;
// More than the socket buffers on both sides hold.
constexpr std::size_t kBigBody = 32 * 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Fd connect_to(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout{std::chrono::duration_cast<std::chrono::seconds>(kSocketTimeout).count(), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return Fd();
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

struct Received {
  std::string bytes;
  bool eof = false;  // the server closed (or reset) the connection
};

// Everything until the server closes, within kSocketTimeout.
Received read_until_close(int fd) {
  Received received;
  char chunk[4096];
  for (;;) {
    const ssize_t size = ::recv(fd, chunk, sizeof chunk, 0);
    if (size > 0) {
      received.bytes.append(chunk, static_cast<std::size_t>(size));
      continue;
    }
    received.eof = size == 0 || errno == ECONNRESET;
    return received;
  }
}

// One response: its head, then Content-Length bytes unless it answers HEAD.
std::string read_response(int fd, bool head = false) {
  std::string bytes;
  char chunk[4096];
  std::size_t end = std::string::npos;
  while ((end = bytes.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t size = ::recv(fd, chunk, sizeof chunk, 0);
    if (size <= 0) return bytes;
    bytes.append(chunk, static_cast<std::size_t>(size));
  }
  std::size_t length = 0;
  const auto field = bytes.find("Content-Length: ");
  if (field != std::string::npos && field < end) length = std::stoul(bytes.substr(field + 16));
  const std::size_t total = end + 4 + (head ? 0 : length);
  while (bytes.size() < total) {
    const ssize_t size = ::recv(fd, chunk, sizeof chunk, 0);
    if (size <= 0) return bytes;
    bytes.append(chunk, static_cast<std::size_t>(size));
  }
  return bytes;
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

bool has_header(const std::string& response, const std::string& line) {
  const auto end = response.find("\r\n\r\n");
  const auto at = response.find("\r\n" + line + "\r\n");
  return at != std::string::npos && at < end;
}

// One request on a new connection, closed after.
std::string exchange(int port, const std::string& request) {
  Fd fd = connect_to(port);
  if (fd.get() < 0 || !send_all(fd.get(), request)) return {};
  return read_until_close(fd.get()).bytes;
}

std::string get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra_headers +
         "\r\n";
}

// A server with /metrics ("hello\n") and /echo (the request as a route
// saw it), on an io_context thread of its own.
class RunningServer {
 public:
  explicit RunningServer(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    auto created = HttpServer::create(io_, options);
    if (!created) {
      why_ = describe(created.error());
      return;
    }
    server_ = std::move(*created);
    server_->add_route("/metrics", [](const HttpRequest&, Respond respond) {
      respond({200, "text/plain; version=0.0.4; charset=utf-8", "hello\n"});
    });
    server_->add_route("/echo", [](const HttpRequest& request, Respond respond) {
      std::string seen = "path=" + request.path + " query=" + request.query +
                         " accept=" + request.accept + " timeout=" +
                         (request.scrape_timeout ? std::to_string(request.scrape_timeout->count())
                                                 : std::string("none"));
      respond({200, "text/plain", seen});
    });
    server_->add_route("/big", [](const HttpRequest&, Respond respond) {
      respond({200, "text/plain", std::string(kBigBody, 'x')});
    });
    // Answers later, from another handler on the io_context.
    server_->add_route("/later", [this](const HttpRequest&, Respond respond) {
      boost::asio::post(io_, [respond] { respond({200, "text/plain", "later\n"}); });
    });
    const std::string address = server_->local_address();
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
    thread_ = std::thread([this] { io_.run(); });
  }

  ~RunningServer() {
    if (!server_) return;
    boost::asio::post(io_, [this] { server_->stop(); });
    thread_.join();
  }

  bool ok() const { return server_ != nullptr; }
  const std::string& why() const { return why_; }
  int port() const { return port_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::string why_;
  int port_ = 0;
};

HttpServerOptions with_limits(HttpLimits limits) {
  HttpServerOptions options;
  options.limits = limits;
  return options;
}

TEST(HttpServer, GetAnswers200WithTheRoutesBody) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response = exchange(server.port(), get("/metrics"));
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_TRUE(has_header(response, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_TRUE(has_header(response, "Content-Length: 6"));
  EXPECT_EQ(body_of(response), "hello\n");
}

TEST(HttpServer, RouteSeesPathQueryAcceptAndScrapeTimeout) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response =
      exchange(server.port(), get("/echo?a=1&b", "Accept: application/openmetrics-text\r\n"
                                                 "X-Prometheus-Scrape-Timeout-Seconds: 2.5\r\n"));
  EXPECT_EQ(body_of(response),
            "path=/echo query=a=1&b accept=application/openmetrics-text timeout=2500");
  const std::string bad_timeout =
      exchange(server.port(), get("/echo", "X-Prometheus-Scrape-Timeout-Seconds: -1\r\n"));
  EXPECT_EQ(body_of(bad_timeout), "path=/echo query= accept= timeout=none");
}

TEST(HttpServer, RouteMayAnswerLater) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response = exchange(server.port(), get("/later"));
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_EQ(body_of(response), "later\n");
}

TEST(HttpServer, HeadHasTheLengthButNoBody) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response = exchange(
      server.port(), "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_TRUE(has_header(response, "Content-Length: 6")) << response;
  EXPECT_EQ(body_of(response), "");
}

TEST(HttpServer, UnknownPathIs404) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  EXPECT_EQ(status_of(exchange(server.port(), get("/nothing"))), 404);
  EXPECT_EQ(status_of(exchange(server.port(), get("/metrics/"))), 404);
}

// An error answer to HEAD has no body either: on a kept-alive connection a
// body would be read as the start of the next answer.
TEST(HttpServer, HeadErrorAnswerHasNoBodySoTheNextAnswerParses) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  Fd fd = connect_to(server.port());
  ASSERT_TRUE(send_all(fd.get(), "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string first = read_response(fd.get(), true);
  EXPECT_EQ(status_of(first), 404) << first;
  EXPECT_EQ(body_of(first), "") << first;
  ASSERT_TRUE(send_all(fd.get(), get("/metrics")));
  const std::string second = read_until_close(fd.get()).bytes;
  EXPECT_EQ(status_of(second), 200) << second;
  EXPECT_EQ(body_of(second), "hello\n") << second;
}

// RFC 9112 3.2: HTTP/1.1 needs exactly one Host; HTTP/1.0 may go without.
TEST(HttpServer, Http11WithoutHostOrWithTwoIs400) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  EXPECT_EQ(status_of(exchange(server.port(), "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")), 400);
  EXPECT_EQ(status_of(exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
                                              "Connection: close\r\n\r\n")),
            400);
  EXPECT_EQ(status_of(exchange(server.port(), "GET /metrics HTTP/1.0\r\n\r\n")), 200);
}

// RFC 9112 6.3: with a transfer coding other than chunked last, the body's
// length is unknown; HTTP/1.0 has no transfer codings (6.1): 400, and the
// connection closed.
TEST(HttpServer, TransferCodingNotEndingInChunkedIs400) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  for (const std::string request :
       {"HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip", "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip",
        "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity", "HTTP/1.0\r\nTransfer-Encoding: chunked"}) {
    const std::string& coding = request;
    Fd fd = connect_to(server.port());
    ASSERT_TRUE(send_all(fd.get(), "GET /metrics " + request + "\r\n\r\n0\r\n\r\n"));
    const std::string response = read_until_close(fd.get()).bytes;
    EXPECT_EQ(status_of(response), 400) << coding << ": " << response;
    EXPECT_EQ(response.find("HTTP/1.1", 1), std::string::npos) << "one answer only: " << response;
  }
  const std::string chunked = exchange(
      server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
                     "Connection: close\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(chunked), 200) << chunked;
}

TEST(HttpServer, OtherMethodIs405WithAllow) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  for (const std::string method : {"POST", "PUT", "DELETE", "OPTIONS", "BREW"}) {
    const std::string response =
        exchange(server.port(), method + " /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                         "Content-Length: 0\r\n\r\n");
    EXPECT_EQ(status_of(response), 405) << method << ": " << response;
    EXPECT_TRUE(has_header(response, "Allow: GET, HEAD")) << response;
  }
}

TEST(HttpServer, UnparsableRequestIs400AndNotEchoed) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  for (const std::string& request :
       {std::string("NOT AN HTTP REQUEST\x1b[2J\r\n\r\n"),
        std::string("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n"),
        std::string("GET /metrics HTTP/9.\r\n\r\n"),
        std::string("GET http://elsewhere/metrics HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    const std::string response = exchange(server.port(), request);
    EXPECT_EQ(status_of(response), 400) << response;
    EXPECT_EQ(response.find('\x1b'), std::string::npos);
    EXPECT_EQ(response.find("elsewhere"), std::string::npos);
  }
}

TEST(HttpServer, HeadersOverTheLimitAre431) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string big(16 * 1024, 'a');
  const std::string response = exchange(server.port(), get("/metrics", "X-Big: " + big + "\r\n"));
  EXPECT_EQ(status_of(response), 431) << response.substr(0, 200);
}

TEST(HttpServer, RequestLineOverTheLimitIs414) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response = exchange(server.port(), get("/metrics?" + std::string(16 * 1024, 'a')));
  EXPECT_EQ(status_of(response), 414) << response.substr(0, 200);
  EXPECT_TRUE(has_header(response, "Connection: close")) << response.substr(0, 200);
}

// A request line longer than the server's first read (512 bytes) is parsed
// only with the whole header: a header past the limit behind it is still 431.
TEST(HttpServer, LongRequestLineWithHeadersOverTheLimitIs431) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response = exchange(
      server.port(), get("/metrics?" + std::string(1000, 'a'), "X-Big: " + std::string(9000, 'b') + "\r\n"));
  EXPECT_EQ(status_of(response), 431) << response.substr(0, 200);
}

TEST(HttpServer, BodyOverTheCapIs413) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  // Refused from the Content-Length, before the body is sent...
  EXPECT_EQ(status_of(exchange(server.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                              "Content-Length: 100000\r\n\r\n")),
            413);
  // ... and a chunked body as it crosses the cap.
  const std::string chunk(5000, 'x');
  EXPECT_EQ(status_of(exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                              "Transfer-Encoding: chunked\r\n\r\n1388\r\n" +
                                                  chunk + "\r\n0\r\n\r\n")),
            413);
}

// The time until the server closes a connection that sent `bytes` and then
// nothing; nullopt when it did not close within kSocketTimeout.
std::optional<Clock::duration> time_to_close(int port, const std::string& bytes) {
  Fd fd = connect_to(port);
  const auto start = Clock::now();
  if (fd.get() < 0 || !send_all(fd.get(), bytes)) return std::nullopt;
  const Received received = read_until_close(fd.get());
  if (!received.eof) return std::nullopt;
  return Clock::now() - start;
}

TEST(HttpServer, SlowOrSilentClientIsDroppedAfterTheRequestTimeout) {
  RunningServer server(with_limits({.request_timeout = 300ms}));
  ASSERT_TRUE(server.ok()) << server.why();
  for (const std::string& sent : {std::string(), std::string("GET /metrics HTTP/1.1\r\nHost")}) {
    const auto closed_after = time_to_close(server.port(), sent);
    ASSERT_TRUE(closed_after.has_value()) << "not closed for '" << sent << "'";
    EXPECT_GE(*closed_after, 250ms);
  }
}

TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnectionThenClosesWhenIdle) {
  RunningServer server(with_limits({.idle_timeout = 300ms}));
  ASSERT_TRUE(server.ok()) << server.why();
  Fd fd = connect_to(server.port());
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(send_all(fd.get(), request));
    const std::string response = read_response(fd.get());
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), "hello\n");
  }
  const auto start = Clock::now();
  const Received rest = read_until_close(fd.get());
  EXPECT_TRUE(rest.eof);
  EXPECT_EQ(rest.bytes, "");
  EXPECT_GE(Clock::now() - start, 250ms);
}

TEST(HttpServer, Http10IsClosedAfterTheAnswerUnlessItAsksForKeepAlive) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  Fd fd = connect_to(server.port());
  ASSERT_TRUE(send_all(fd.get(), "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const std::string kept = read_response(fd.get());
  EXPECT_EQ(kept.rfind("HTTP/1.0 200", 0), 0u) << kept;
  EXPECT_TRUE(has_header(kept, "Connection: keep-alive")) << kept;
  ASSERT_TRUE(send_all(fd.get(), "GET /metrics HTTP/1.0\r\n\r\n"));
  const Received last = read_until_close(fd.get());
  EXPECT_EQ(status_of(last.bytes), 200) << last.bytes;
  EXPECT_TRUE(last.eof);
}

// A client that asks and does not read the answer is reset after the
// request timeout, the answer not all written (a graceful close would
// leave the rest in the server's kernel, and the client would not know).
TEST(HttpServer, ClientNotReadingItsAnswerIsDroppedAfterTheRequestTimeout) {
  RunningServer server(with_limits({.request_timeout = 300ms}));
  ASSERT_TRUE(server.ok()) << server.why();
  Fd fd = connect_to(server.port());
  const auto start = Clock::now();
  ASSERT_TRUE(send_all(fd.get(), get("/big")));
  pollfd closed{fd.get(), POLLRDHUP, 0};
  ASSERT_EQ(::poll(&closed, 1, static_cast<int>(std::chrono::milliseconds(kSocketTimeout).count())), 1);
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(read_until_close(fd.get()).bytes.size(), kBigBody);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  RunningServer server;
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response =
      exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto second = response.find("HTTP/1.1 404");
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_NE(second, std::string::npos) << response;
}

TEST(HttpServer, PastMaxConnectionsIs503UntilOneCloses) {
  RunningServer server(with_limits({.max_connections = 2}));
  ASSERT_TRUE(server.ok()) << server.why();
  std::vector<Fd> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(connect_to(server.port()));
    // Served, so certainly counted before the next connects.
    ASSERT_TRUE(send_all(held.back().get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(status_of(read_response(held.back().get())), 200);
  }
  const std::string refused = exchange(server.port(), get("/metrics"));
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_TRUE(has_header(refused, "Connection: close")) << refused;

  held.clear();
  // The server sees the closes when it reads them: retried within a deadline.
  const auto deadline = Clock::now() + kSocketTimeout;
  int status = 0;
  while (status != 200 && Clock::now() < deadline) {
    status = status_of(exchange(server.port(), get("/metrics")));
  }
  EXPECT_EQ(status, 200);
}

TEST(HttpServer, TwoHundredConcurrentClientsEachGet200) {
  constexpr int kClients = 200;
  RunningServer server(with_limits({.max_connections = kClients}));
  ASSERT_TRUE(server.ok()) << server.why();
  // All connected and all asked before any answer is read: the server has
  // the 200 open at once.
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect_to(server.port()));
    ASSERT_GE(clients.back().get(), 0) << i;
    ASSERT_TRUE(send_all(clients.back().get(), get("/metrics"))) << i;
  }
  int ok = 0;
  for (auto& client : clients) {
    const std::string response = read_until_close(client.get()).bytes;
    ok += status_of(response) == 200 && body_of(response) == "hello\n";
  }
  EXPECT_EQ(ok, kClients);
}

TEST(HttpServer, ListenAddressErrorsAreValues) {
  boost::asio::io_context io;
  for (const std::string listen : {"127.0.0.1", "::1:80", ":9477", "127.0.0.1:70000", "127.0.0.1:x"}) {
    HttpServerOptions options;
    options.listen = listen;
    EXPECT_FALSE(HttpServer::create(io, options).ok()) << listen;
  }
  RunningServer first;
  ASSERT_TRUE(first.ok());
  HttpServerOptions taken;
  taken.listen = "127.0.0.1:" + std::to_string(first.port());
  auto second = HttpServer::create(io, taken);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(describe(second.error()).find("EADDRINUSE"), std::string::npos)
      << describe(second.error());
}

// --- TLS -------------------------------------------------------------------

struct SslCtxFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

struct TlsResult {
  bool handshake = false;
  std::string response;
  Clock::duration answered_after{};  // from the request sent to the server's close
};

// A request over TLS, verifying the server's certificate against ca_file
// for the name localhost.
// With a client certificate when client_cert names NAME.crt and NAME.key.
TlsResult tls_exchange(int port, const std::string& ca_file, const std::string& request,
                       const std::string& client_cert = "") {
  TlsResult result;
  std::unique_ptr<SSL_CTX, SslCtxFree> context(SSL_CTX_new(TLS_client_method()));
  if (!context || SSL_CTX_load_verify_locations(context.get(), ca_file.c_str(), nullptr) != 1) {
    return result;
  }
  if (!client_cert.empty() &&
      (SSL_CTX_use_certificate_file(context.get(), (client_cert + ".crt").c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_use_PrivateKey_file(context.get(), (client_cert + ".key").c_str(), SSL_FILETYPE_PEM) != 1)) {
    return result;
  }
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  Fd fd = connect_to(port);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(context.get()));
  SSL_set_fd(ssl.get(), fd.get());
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  if (SSL_connect(ssl.get()) != 1) return result;
  result.handshake = true;
  const auto sent = Clock::now();
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) <= 0) return result;
  char chunk[4096];
  for (;;) {
    const int size = SSL_read(ssl.get(), chunk, sizeof chunk);
    if (size <= 0) break;
    result.response.append(chunk, static_cast<std::size_t>(size));
  }
  result.answered_after = Clock::now() - sent;
  return result;
}

class HttpServerTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(testing::make_certificate(dir_, "server")) << "the openssl command failed";
  }
  HttpServerOptions tls_options(HttpLimits limits = {}) const {
    HttpServerOptions options;
    options.limits = limits;
    WebConfig web;
    TlsServerConfig tls;
    tls.cert_file = dir_.file("server.crt");
    tls.key_file = dir_.file("server.key");
    web.tls = tls;
    options.web = web;
    return options;
  }

  TempDir dir_;
};

TEST_F(HttpServerTls, GetOverTlsIs200) {
  RunningServer server(tls_options());
  ASSERT_TRUE(server.ok()) << server.why();
  const TlsResult result = tls_exchange(server.port(), dir_.file("server.crt"), get("/metrics"));
  ASSERT_TRUE(result.handshake);
  EXPECT_EQ(status_of(result.response), 200) << result.response;
  EXPECT_EQ(body_of(result.response), "hello\n");
}

TEST_F(HttpServerTls, PlainHttpOnTheTlsPortGetsNoAnswer) {
  RunningServer server(tls_options());
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string response = exchange(server.port(), get("/metrics"));
  EXPECT_EQ(response.find("HTTP/"), std::string::npos) << response;
  EXPECT_EQ(response.find("hello"), std::string::npos);
}

TEST_F(HttpServerTls, SilentClientIsDroppedWithinTheRequestTimeout) {
  RunningServer server(tls_options({.request_timeout = 300ms}));
  ASSERT_TRUE(server.ok()) << server.why();
  const auto closed_after = time_to_close(server.port(), "");
  ASSERT_TRUE(closed_after.has_value());
  EXPECT_GE(*closed_after, 250ms);
}

TEST_F(HttpServerTls, TlsOlderThanTheMinimumIsRefused) {
  HttpServerOptions options = tls_options();
  options.web->tls->min_version = TlsVersion::kTls13;
  RunningServer server(options);
  ASSERT_TRUE(server.ok()) << server.why();
  std::unique_ptr<SSL_CTX, SslCtxFree> context(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_max_proto_version(context.get(), TLS1_2_VERSION);
  Fd fd = connect_to(server.port());
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(context.get()));
  SSL_set_fd(ssl.get(), fd.get());
  EXPECT_NE(SSL_connect(ssl.get()), 1);
}

TEST_F(HttpServerTls, ClientCertificateRequiredAndVerified) {
  ASSERT_TRUE(testing::make_certificate(dir_, "client"));
  ASSERT_TRUE(testing::make_certificate(dir_, "stranger"));
  HttpServerOptions options = tls_options();
  options.web->tls->client_ca_file = dir_.file("client.crt");
  options.web->tls->client_auth = ClientAuth::kRequireAndVerify;
  RunningServer server(options);
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string ca = dir_.file("server.crt");
  const TlsResult verified = tls_exchange(server.port(), ca, get("/metrics"), dir_.file("client"));
  EXPECT_EQ(status_of(verified.response), 200) << verified.response;
  // TLS 1.3 may finish the client's handshake before the server refuses:
  // no answer either way.
  EXPECT_EQ(status_of(tls_exchange(server.port(), ca, get("/metrics")).response), 0);
  EXPECT_EQ(status_of(tls_exchange(server.port(), ca, get("/metrics"), dir_.file("stranger")).response), 0);
}

// An answer with Connection: close over TLS is followed by close_notify:
// with Nagle's algorithm on, that small write waited for the client's
// delayed ACK (40 ms on Linux). The median of ten, so a loaded machine's
// odd slow one does not count.
TEST_F(HttpServerTls, AnswerThatClosesArrivesWithoutNaglesDelay) {
  RunningServer server(tls_options());
  ASSERT_TRUE(server.ok()) << server.why();
  std::vector<Clock::duration> times;
  for (int i = 0; i < 10; ++i) {
    const TlsResult result = tls_exchange(server.port(), dir_.file("server.crt"), get("/metrics"));
    times.push_back(result.answered_after);
    ASSERT_EQ(status_of(result.response), 200) << result.response;
  }
  std::sort(times.begin(), times.end());
  EXPECT_LT(times[5], 20ms) << std::chrono::duration_cast<std::chrono::microseconds>(times[5]).count()
                            << " us";
}

// --- basic auth ------------------------------------------------------------

TEST(HttpServerBasicAuth, RightCredentialsOnlyAre200) {
  HttpServerOptions options;
  WebConfig web;
  web.basic_auth_users = {{"alice", testing::bcrypt_hash("s3cret")},
                          {"bob", testing::bcrypt_hash("other")}};
  options.web = web;
  RunningServer server(options);
  ASSERT_TRUE(server.ok()) << server.why();
  const auto with = [&](const std::string& header) {
    return exchange(server.port(), get("/metrics", header));
  };
  // base64("alice:s3cret"), twice: the second from the remembered password.
  for (int i = 0; i < 2; ++i) {
    const std::string right = with("Authorization: Basic YWxpY2U6czNjcmV0\r\n");
    EXPECT_EQ(status_of(right), 200) << right;
  }
  for (const std::string& header :
       {std::string(""),                                           // none
        std::string("Authorization: Basic YWxpY2U6d3Jvbmc=\r\n"),  // alice:wrong
        std::string("Authorization: Basic bWFsbG9yeTpzM2NyZXQ=\r\n"),  // mallory:s3cret
        std::string("Authorization: Basic Ym9iOnMzY3JldA==\r\n"),      // bob:s3cret
        std::string("Authorization: Bearer YWxpY2U6czNjcmV0\r\n"),
        std::string("Authorization: Basic !!!!\r\n")}) {
    const std::string response = with(header);
    EXPECT_EQ(status_of(response), 401) << header << response;
    EXPECT_TRUE(has_header(response, "WWW-Authenticate: Basic realm=\"ktstats\"")) << response;
  }
}

// bcrypt runs beside the io_context's thread: a slow check (cost 13, about
// 600 ms: a margin on a loaded machine) does not hold up a request whose
// password is remembered.
TEST(HttpServerBasicAuth, SlowPasswordCheckDoesNotHoldUpOtherRequests) {
  HttpServerOptions options;
  WebConfig web;
  web.basic_auth_users = {{"alice", testing::bcrypt_hash("s3cret")},
                          {"bob", testing::bcrypt_hash("other", 13)}};
  options.web = web;
  RunningServer server(options);
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string alice = get("/metrics", "Authorization: Basic YWxpY2U6czNjcmV0\r\n");
  ASSERT_EQ(status_of(exchange(server.port(), alice)), 200);  // now remembered

  Fd bob = connect_to(server.port());
  ASSERT_TRUE(send_all(bob.get(), get("/metrics", "Authorization: Basic Ym9iOndyb25n\r\n")));  // bob:wrong
  const std::string quick = exchange(server.port(), alice);
  EXPECT_EQ(status_of(quick), 200) << quick;
  pollfd waiting{bob.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&waiting, 1, 0), 0) << "bob's check ended before alice's request was answered";
  EXPECT_EQ(status_of(read_until_close(bob.get()).bytes), 401);
}

// With bob's check under way, a request without credentials or with
// unreadable ones needs no bcrypt: 401 before bob's verdict.
TEST(HttpServerBasicAuth, MissingOrMalformedCredentialsAre401AtOnce) {
  HttpServerOptions options;
  WebConfig web;
  web.basic_auth_users = {{"bob", testing::bcrypt_hash("other", 13)}};
  options.web = web;
  RunningServer server(options);
  ASSERT_TRUE(server.ok()) << server.why();
  Fd bob = connect_to(server.port());
  ASSERT_TRUE(send_all(bob.get(), get("/metrics", "Authorization: Basic Ym9iOndyb25n\r\n")));  // bob:wrong
  for (const std::string& header :
       {std::string(""), std::string("Authorization: Basic !!!!\r\n"),
        std::string("Authorization: Bearer Ym9iOndyb25n\r\n")}) {
    const std::string response = exchange(server.port(), get("/metrics", header));
    EXPECT_EQ(status_of(response), 401) << header << response;
    EXPECT_TRUE(has_header(response, "WWW-Authenticate: Basic realm=\"ktstats\"")) << response;
  }
  pollfd waiting{bob.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&waiting, 1, 0), 0) << "bob's check ended before the others were answered";
  EXPECT_EQ(status_of(read_until_close(bob.get()).bytes), 401);
}

// Sixteen slow checks queued or running: the next is told to come back
// (503, Retry-After) at once rather than wait behind them.
TEST(HttpServerBasicAuth, ChecksPastTheQueueCapAre503WithRetryAfter) {
  HttpServerOptions options;
  WebConfig web;
  web.basic_auth_users = {{"bob", testing::bcrypt_hash("other", 13)}};
  options.web = web;
  RunningServer server(options);
  ASSERT_TRUE(server.ok()) << server.why();
  const std::string wrong = get("/metrics", "Authorization: Basic Ym9iOndyb25n\r\n");  // bob:wrong
  std::vector<Fd> queued;
  for (int i = 0; i < 16; ++i) {
    queued.push_back(connect_to(server.port()));
    ASSERT_TRUE(send_all(queued.back().get(), wrong));
  }
  // The sixteen may be read after the first of these: a few tries.
  std::string refused;
  for (int attempt = 0; attempt < 4 && status_of(refused) != 503; ++attempt) {
    Fd extra = connect_to(server.port());
    ASSERT_TRUE(send_all(extra.get(), wrong));
    pollfd answered{extra.get(), POLLIN, 0};
    if (::poll(&answered, 1, 1000) == 1) refused = read_response(extra.get());
  }
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_TRUE(has_header(refused, "Retry-After: 1")) << refused;
}

// stop() does not wait for a check under way (cost 13: its time, measured
// making the hash, is the bound); its verdict is dropped.
TEST(HttpServerBasicAuth, StopDoesNotWaitForACheckUnderWay) {
  auto start = Clock::now();
  const std::string slow = testing::bcrypt_hash("other", 13);
  const auto one_check = Clock::now() - start;
  HttpServerOptions options;
  WebConfig web;
  web.basic_auth_users = {{"alice", testing::bcrypt_hash("s3cret")}, {"bob", slow}};
  options.web = web;
  auto server = std::make_unique<RunningServer>(options);
  ASSERT_TRUE(server->ok()) << server->why();
  const std::string alice = get("/metrics", "Authorization: Basic YWxpY2U6czNjcmV0\r\n");
  ASSERT_EQ(status_of(exchange(server->port(), alice)), 200);  // now remembered
  Fd bob = connect_to(server->port());
  ASSERT_TRUE(send_all(bob.get(), get("/metrics", "Authorization: Basic Ym9iOndyb25n\r\n")));
  // Answered on the io thread, after bob's request was read (most likely).
  ASSERT_EQ(status_of(exchange(server->port(), alice)), 200);
  // Nothing outside tells when bob's check starts: a quarter of its time
  // lets it start, and leaves it most of its time still to run.
  std::this_thread::sleep_for(one_check / 4);
  start = Clock::now();
  server.reset();
  const auto stopping = Clock::now() - start;
  EXPECT_LT(stopping, one_check / 3)
      << std::chrono::duration_cast<std::chrono::milliseconds>(stopping).count() << " ms against "
      << std::chrono::duration_cast<std::chrono::milliseconds>(one_check).count() << " ms";
  EXPECT_EQ(read_until_close(bob.get()).bytes, "");
}

}  // namespace
}  // namespace ktstats::metrics
