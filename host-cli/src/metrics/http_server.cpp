// The only translation unit with Boost.Beast and Asio's TLS: they are slow to
// compile. One session class template serves plain and TLS connections.
#include "metrics/http_server.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "ktstats/terminal_text.hpp"
#include "metrics/basic_auth.hpp"

namespace ktstats::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Routes take GET and HEAD: a body is never needed, one over this is 413.
constexpr std::size_t kMaxBodyBytes = 4096;
// What is read and thrown away after an error answer before closing, so
// that the close does not reset the connection (and lose the answer)
// while the client's request is still arriving.
constexpr std::size_t kMaxDrainBytes = 64 * 1024;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
constexpr int kSendBufferBytes = 256 * 1024;
// Password checks queued for the bcrypt thread or running there, in all:
// past it a request is told to come back rather than wait its turn (each
// check costs bcrypt's time, so a longer queue is minutes of waiting).
constexpr std::size_t kMaxPendingChecks = 16;

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
};

// bcrypt runs on a thread of its own, not on the io_context's thread, which
// must keep serving (and scraping) while a password is checked. The thread
// is detached: stop() drops the checks not started and does not wait for
// the one running, whose verdict is then not delivered. So it may still run
// while the process exits: its jobs touch no state exit() tears down (no
// OpenSSL: the digests are made before a job is posted).
class AuthWorker : public std::enable_shared_from_this<AuthWorker> {
 public:
  using Job = std::function<void(AuthWorker&)>;

  void start() {
    std::thread([self = shared_from_this()] { self->run(); }).detach();
  }

  void post(Job job) {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    jobs_.push_back(std::move(job));
    ready_.notify_one();
  }

  // deliver runs unless stop() came first; stop() waits for it, so it may
  // post to the io_context, which lives at least until stop() returns.
  void unless_stopped(const std::function<void()>& deliver) {
    std::lock_guard lock(mutex_);
    if (!stopped_) deliver();
  }

  void stop() {
    std::deque<Job> dropped;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      dropped.swap(jobs_);
    }
    ready_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopped_ || !jobs_.empty(); });
        if (stopped_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job(*this);
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopped_ = false;
};

// What the acceptor and every session share; sessions hold it, so it
// outlives the HttpServer object while their handlers are pending.
struct Shared {
  explicit Shared(asio::io_context& io) : acceptor(io), retry_timer(io) {}
  ~Shared() {
    if (auth_worker) auth_worker->stop();
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  HttpLimits limits;
  std::map<std::string, Route, std::less<>> routes;
  std::shared_ptr<const BasicAuth> auth;
  std::shared_ptr<AuthWorker> auth_worker;
  // Counted on the io_context's thread; apart from Shared, so that the
  // checks queued on auth_worker do not hold Shared (which holds them).
  std::shared_ptr<std::size_t> pending_checks = std::make_shared<std::size_t>(0);
  std::unique_ptr<asio::ssl::context> tls;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  bool stopped = false;
  bool accept_failing = false;  // warned once per run of failures
};

bool has_line_end(const beast::flat_buffer& buffer) {
  const std::string_view bytes(static_cast<const char*>(buffer.data().data()), buffer.size());
  return bytes.find('\n') != std::string_view::npos;
}

std::string_view reason_text(unsigned status) {
  return http::obsolete_reason(static_cast<http::status>(status));
}

// A header's value with the characters a log must not carry escaped.
std::string for_log(std::string_view text) { return escape_for_terminal(text, 200); }

std::optional<std::chrono::milliseconds> parse_scrape_timeout(std::string_view text) {
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) ||
      seconds <= 0 || seconds > 86'400) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::max<long long>(1, std::llround(seconds * 1000)));
}

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(std::shared_ptr<Shared> shared, Stream stream, bool refuse, std::string peer)
      : shared_(std::move(shared)),
        stream_(std::move(stream)),
        buffer_(shared_->limits.max_header_bytes + kMaxBodyBytes + 4096),
        refuse_(refuse),
        peer_(std::move(peer)) {}

  ~Session() override { shared_->sessions.erase(this); }

  void start() {
    shared_->sessions.emplace(this, this->weak_from_this());
    if constexpr (kTls) {
      lowest().expires_after(shared_->limits.request_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code error) {
                                if (error) {
                                  spdlog::debug("metrics: {}: TLS handshake: {}", self->peer_,
                                                for_log(error.message()));
                                  return self->close();
                                }
                                self->read_request();
                              });
    } else {
      read_request();
    }
  }

  void close() override {
    closed_ = true;
    lowest().close();
    held_.reset();  // the caller holds the session
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // A kept-alive connection waits idle_timeout for the next request's first
  // bytes, then request_timeout for the whole of it.
  void wait_for_next_request() {
    if (buffer_.size() > 0) return read_request();
    lowest().expires_after(shared_->limits.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = this->shared_from_this()](beast::error_code error, std::size_t size) {
          if (error) {
            if (error == beast::error::timeout) {
              spdlog::debug("metrics: {}: idle, closed", self->peer_);
            }
            return self->close();
          }
          self->buffer_.commit(size);
          self->read_request();
        });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.max_header_bytes));
    parser_->body_limit(kMaxBodyBytes);
    lowest().expires_after(shared_->limits.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(beast::error_code error) {
    if (!error) return handle(parser_->get());
    if (error == http::error::header_limit) {
      // The request line alone is past the limit when the parser has not
      // taken it (it sets the target once it has) and no line end is among
      // the bytes read (a request line split across reads is only parsed
      // with the whole header).
      if (parser_->get().target().empty() && !has_line_end(buffer_)) {
        return answer_error(414, "request target too long");
      }
      return answer_error(431, "request headers too large");
    }
    if (error == http::error::body_limit) return answer_error(413, "request body too large");
    if (error == beast::error::timeout) {
      spdlog::debug("metrics: {}: no whole request within the timeout, closed", peer_);
      return close();
    }
    if (error.category() == http::make_error_code(http::error::bad_method).category() &&
        error != http::error::end_of_stream && error != http::error::partial_message) {
      spdlog::debug("metrics: {}: bad request: {}", peer_, for_log(error.message()));
      return answer_error(400, "bad request");
    }
    close();
  }

  void handle(const http::request<http::string_body>& request) {
    ++request_id_;
    version_ = request.version();
    head_ = request.method() == http::verb::head;
    method_ = for_log(request.method_string());
    target_ = for_log(request.target());
    // RFC 9112 3.2: an HTTP/1.1 request without Host, or any with two.
    const auto hosts = request.count(http::field::host);
    if (hosts > 1 || (hosts == 0 && request.version() >= 11)) {
      return answer_error(400, "no Host, or more than one");
    }
    // RFC 9112 6.3: a request whose last transfer coding is not chunked has
    // a body of unknown length; what follows it cannot be read as a request.
    // HTTP/1.0 has no transfer codings at all (6.1: faulty framing).
    if (request.count(http::field::transfer_encoding) > 0 && (!request.chunked() || request.version() < 11)) {
      return answer_error(400, "a transfer coding other than chunked last");
    }
    if (refuse_) return answer_error(503, "too many connections");
    if (!shared_->auth) return route(request);
    // No credentials (or unreadable ones) need no bcrypt: answered at once.
    auto prepared = shared_->auth->prepare(request[http::field::authorization]);
    if (!prepared) return answer_unauthorized(request.keep_alive());
    if (shared_->auth->remembered(*prepared)) return route(request);
    if (*shared_->pending_checks >= kMaxPendingChecks) {
      return answer(HttpResponse{503, "text/plain; charset=utf-8", "503 Service Unavailable\n"},
                    request.keep_alive(), {{http::field::retry_after, "1"}});
    }
    ++*shared_->pending_checks;
    // The pool's task holds no session: the session holds itself until the
    // verdict comes back or it is closed (stop() drops the worker's jobs).
    held_ = this->shared_from_this();
    shared_->auth_worker->post([auth = shared_->auth, prepared = std::move(*prepared),
                                executor = stream_.get_executor(), pending = shared_->pending_checks,
                                weak = this->weak_from_this(), id = request_id_](AuthWorker& worker) {
      const bool right = auth->verify(prepared);
      worker.unless_stopped([&] {
        asio::post(executor, [weak, pending, right, id] {
          --*pending;
          const auto self = weak.lock();
          if (!self) return;
          self->held_.reset();
          if (self->closed_ || id != self->request_id_) return;
          if (right) return self->route(self->parser_->get());
          self->answer_unauthorized(self->parser_->get().keep_alive());
        });
      });
    });
  }

  void answer_unauthorized(bool keep_alive) {
    answer(HttpResponse{401, "text/plain; charset=utf-8", "401 Unauthorized\n"}, keep_alive,
           {{http::field::www_authenticate, "Basic realm=\"ktstats\""}});
  }

  // The request is in the limits and authenticated: to its route.
  void route(const http::request<http::string_body>& request) {
    const bool keep_alive = request.keep_alive();
    const std::string_view target = request.target();
    if (target.empty() || target.front() != '/') return answer_error(400, "bad request target");
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const auto found = shared_->routes.find(path);
    if (found == shared_->routes.end()) return answer_simple(404, keep_alive);
    if (request.method() != http::verb::get && !head_) {
      return answer(HttpResponse{405, "text/plain; charset=utf-8", "405 Method Not Allowed\n"},
                    keep_alive, {{http::field::allow, "GET, HEAD"}});
    }
    HttpRequest routed;
    routed.head = head_;
    routed.path = std::string(path);
    if (question != std::string_view::npos) routed.query = std::string(target.substr(question + 1));
    routed.accept = std::string(request[http::field::accept]);
    routed.scrape_timeout = parse_scrape_timeout(request["X-Prometheus-Scrape-Timeout-Seconds"]);
    found->second(routed, [self = this->shared_from_this(), id = request_id_,
                           keep_alive](HttpResponse response) {
      if (self->closed_ || id != self->request_id_ || self->answered_ == id) return;
      self->answer(std::move(response), keep_alive, {});
    });
  }

  void answer_simple(unsigned status, bool keep_alive) {
    answer(HttpResponse{status, "text/plain; charset=utf-8",
                        std::to_string(status) + " " + std::string(reason_text(status)) + "\n"},
           keep_alive, {});
  }

  // An answer after which the connection is closed: the request was not
  // read whole, or may not be.
  void answer_error(unsigned status, std::string_view why) {
    if (request_id_ == answered_) {  // no request parsed: nothing to log it by
      ++request_id_;
      version_ = 11;
      head_ = false;
      method_ = "-";
      target_ = "-";
    }
    spdlog::debug("metrics: {}: {}", peer_, why);
    answer_simple(status, false);
  }

  // Every answer to a HEAD request, errors too, goes without its body: on
  // a kept-alive connection a body would be read as the next answer.
  void answer(HttpResponse response, bool keep_alive,
              std::initializer_list<std::pair<http::field, std::string_view>> headers) {
    answered_ = request_id_;
    if (response.status < 100 || response.status > 999) response.status = 500;
    spdlog::debug("metrics: {} {} {} -> {}", peer_, method_, target_, response.status);
    response_ = {};
    response_.version(version_);
    response_.result(response.status);
    response_.set(http::field::server, "ktstats");
    if (!response.content_type.empty()) response_.set(http::field::content_type, response.content_type);
    for (const auto& [field, value] : headers) response_.set(field, value);
    response_.keep_alive(keep_alive);
    response_.content_length(response.body.size());
    if (!head_) response_.body() = std::move(response.body);
    lowest().expires_after(shared_->limits.request_timeout);
    abort_on_close(true);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this(), keep_alive](beast::error_code error,
                                                                    std::size_t) {
                        if (error) return self->close();
                        self->abort_on_close(false);
                        if (keep_alive && !self->closed_) return self->wait_for_next_request();
                        self->finish();
                      });
  }

  // While an answer is written, a close (its timeout, the server stopping)
  // resets the connection: a graceful close would leave the kernel holding
  // the unwritten rest for a client that does not read it.
  void abort_on_close(bool abort) {
    beast::error_code ignored;
    lowest().socket().set_option(asio::socket_base::linger(abort, 0), ignored);
  }

  // The answer is out: close, first letting the client's bytes in flight
  // arrive (plain) or saying close_notify (TLS), both within the timeout.
  void finish() {
    lowest().expires_after(shared_->limits.request_timeout);
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  void drain() {
    lowest().async_read_some(
        asio::buffer(drain_buffer_),
        [self = this->shared_from_this()](beast::error_code error, std::size_t size) {
          self->drained_ += size;
          if (error || self->drained_ > kMaxDrainBytes) return self->close();
          self->drain();
        });
  }

  std::shared_ptr<Shared> shared_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  const bool refuse_;
  const std::string peer_;
  bool closed_ = false;
  std::uint64_t request_id_ = 0;
  std::uint64_t answered_ = 0;
  unsigned version_ = 11;
  bool head_ = false;  // the request answered is HEAD
  std::string method_;
  std::string target_;
  std::size_t drained_ = 0;
  std::shared_ptr<Session> held_;  // while its credentials are checked
  std::array<char, 4096> drain_buffer_{};
};

void accept_next(const std::shared_ptr<Shared>& shared);

// Answers are small and often followed at once by a close (or TLS's
// close_notify): with Nagle's algorithm that last write waits for the
// client's delayed ACK, ~40 ms. The send buffer caps the kernel memory a
// client that pipelines requests and never reads its answers can pin.
void configure_accepted_socket(tcp::socket& socket) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::send_buffer_size(kSendBufferBytes), ignored);
}

void start_session(const std::shared_ptr<Shared>& shared, tcp::socket socket) {
  beast::error_code error;
  const auto remote = socket.remote_endpoint(error);
  std::string peer = error ? std::string("?") : remote.address().to_string() + ":" +
                                                    std::to_string(remote.port());
  const std::size_t open = shared->sessions.size();
  const std::size_t max = shared->limits.max_connections;
  if (open >= 2 * max) {
    // Past twice the limit even the 503 is not afforded: closed at once.
    spdlog::debug("metrics: {}: {} connections open, closed at once", peer, open);
    return;
  }
  const bool refuse = open >= max;
  configure_accepted_socket(socket);
  beast::tcp_stream stream(std::move(socket));
  if (shared->tls) {
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;
    std::make_shared<Session<TlsStream>>(shared, TlsStream(std::move(stream), *shared->tls), refuse,
                                         std::move(peer))
        ->start();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(shared, std::move(stream), refuse, std::move(peer))
        ->start();
  }
}

void accept_next(const std::shared_ptr<Shared>& shared) {
  shared->acceptor.async_accept([shared](beast::error_code error, tcp::socket socket) {
    if (shared->stopped) return;
    if (!error) {
      if (shared->accept_failing) {
        shared->accept_failing = false;
        spdlog::info("metrics: accepting connections again");
      }
      start_session(shared, std::move(socket));
      return accept_next(shared);
    }
    // Out of descriptors, say: try again a little later rather than spin.
    // Warned once, not every retry, while it lasts.
    if (!shared->accept_failing) {
      shared->accept_failing = true;
      spdlog::warn("metrics: accepting a connection: {} (retrying every {} ms)",
                   for_log(error.message()), kAcceptRetry.count());
    } else {
      spdlog::debug("metrics: accepting a connection: {}", for_log(error.message()));
    }
    shared->retry_timer.expires_after(kAcceptRetry);
    shared->retry_timer.async_wait([shared](beast::error_code waited) {
      if (!waited && !shared->stopped) accept_next(shared);
    });
  });
}

Result<tcp::endpoint> parse_listen(asio::io_context& io, const std::string& listen) {
  const auto bad = [&](std::string why) -> Error {
    return Transport{"metrics: listen address '" + for_log(listen) + "': " + std::move(why)};
  };
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("not HOST:PORT");
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return bad("an IPv6 address goes in brackets: [ADDRESS]:PORT");
  }
  if (host.empty()) return bad("no host (0.0.0.0 or [::] for every address)");
  unsigned port = 0;
  const auto [end, parse_error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || parse_error != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("the port is not a number from 0 to 65535");
  }
  beast::error_code error;
  tcp::resolver resolver(io);
  const auto found = resolver.resolve(host, port_text, tcp::resolver::numeric_service, error);
  if (error || found.empty()) return bad("the host cannot be resolved: " + for_log(error.message()));
  return found.begin()->endpoint();
}

int openssl_version(TlsVersion version) {
  return version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const TlsServerConfig& config) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context->native_handle(), openssl_version(config.min_version));
  if (config.max_version) {
    SSL_CTX_set_max_proto_version(context->native_handle(), openssl_version(*config.max_version));
  }
  beast::error_code error;
  const auto failed = [&](const std::string& what) -> Error {
    return Transport{"metrics: TLS: " + what + ": " + for_log(error.message())};
  };
  if (context->use_certificate_chain_file(config.cert_file, error)) {
    return failed("cert_file " + for_log(config.cert_file));
  }
  bool asked_passphrase = false;
  SSL_CTX_set_default_passwd_cb(context->native_handle(), refuse_passphrase);
  SSL_CTX_set_default_passwd_cb_userdata(context->native_handle(), &asked_passphrase);
  const bool key_loaded = !context->use_private_key_file(config.key_file, asio::ssl::context::pem, error);
  // Asio's context deletes a userdata it finds as its own callback object.
  SSL_CTX_set_default_passwd_cb_userdata(context->native_handle(), nullptr);
  if (!key_loaded) {
    if (asked_passphrase) {
      return Transport{"metrics: TLS: key_file " + for_log(config.key_file) + ": " +
                       std::string(kEncryptedKeyRefused)};
    }
    return failed("key_file " + for_log(config.key_file));
  }
  if (config.client_ca_file) {
    if (context->load_verify_file(*config.client_ca_file, error)) {
      return failed("client_ca_file " + for_log(*config.client_ca_file));
    }
  }
  if (config.client_auth == ClientAuth::kRequireAndVerify) {
    context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

class Server final : public HttpServer {
 public:
  explicit Server(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  void add_route(std::string path, Route route) override {
    shared_->routes.insert_or_assign(std::move(path), std::move(route));
  }

  std::string local_address() const override {
    beast::error_code error;
    const auto endpoint = shared_->acceptor.local_endpoint(error);
    if (error) return {};
    const auto address = endpoint.address();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
  }

  void stop() override {
    shared_->stopped = true;
    beast::error_code ignored;
    shared_->acceptor.close(ignored);
    shared_->retry_timer.cancel();
    // Copied first: a session closed may be destroyed, and leave the map.
    std::vector<std::weak_ptr<SessionBase>> sessions;
    for (const auto& [raw, session] : shared_->sessions) sessions.push_back(session);
    for (const auto& weak : sessions) {
      if (auto session = weak.lock()) session->close();
    }
    // Checks not started are dropped; one under way is not waited for.
    if (shared_->auth_worker) shared_->auth_worker->stop();
  }

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(asio::io_context& io,
                                                       const HttpServerOptions& options) {
  auto shared = std::make_shared<Shared>(io);
  shared->limits = options.limits;
  if (shared->limits.max_connections == 0) shared->limits.max_connections = 1;
  if (options.web) {
    if (!options.web->basic_auth_users.empty()) {
      shared->auth = std::make_shared<const BasicAuth>(options.web->basic_auth_users);
      shared->auth_worker = std::make_shared<AuthWorker>();
      shared->auth_worker->start();
    }
    if (options.web->tls) {
      auto context = make_tls_context(*options.web->tls);
      if (!context) return std::move(context).error();
      shared->tls = std::move(*context);
    }
  }
  auto endpoint = parse_listen(io, options.listen);
  if (!endpoint) return std::move(endpoint).error();
  beast::error_code error;
  const std::string where = "metrics: listening on " + for_log(options.listen);
  if (shared->acceptor.open(endpoint->protocol(), error) ||
      shared->acceptor.set_option(asio::socket_base::reuse_address(true), error) ||
      shared->acceptor.bind(*endpoint, error) ||
      shared->acceptor.listen(asio::socket_base::max_listen_connections, error)) {
    return Transport{where, error.value()};
  }
  accept_next(shared);
  return std::unique_ptr<HttpServer>(std::make_unique<Server>(std::move(shared)));
}

}  // namespace ktstats::metrics
