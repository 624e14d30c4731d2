#include "metrics/exporter.hpp"

#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ktstats/error.hpp"
#include "ktstats/terminal_text.hpp"
#include "metrics/http_server.hpp"
#include "metrics/metrics_page.hpp"
#include "metrics/scraper.hpp"
#include "metrics/web_config.hpp"

namespace ktstats::metrics {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::size_t kMaxConnections = 256;

// Taken off Prometheus' scrape timeout, so that the page reaches it in time.
milliseconds scrape_budget_margin(milliseconds scrape_timeout) {
  return std::min(milliseconds(500), scrape_timeout / 4);
}

HttpResponse text_response(unsigned status, std::string content_type, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

}  // namespace

class Exporter::Impl {
 public:
  Impl(const ExporterOptions& options)
      : work_(asio::make_work_guard(io_)),
        scraper_(io_, ScraperOptions{options.control_socket, options.timeout}) {}

  ~Impl() { stop(); }

  bool bind(const ExporterOptions& options, ExporterStartError* error) {
    HttpServerOptions server_options;
    server_options.listen = options.listen;
    // Scrapers share each VM's fetch, so a crowd costs little: room for a
    // few hundred at once (past it: 503).
    server_options.limits.max_connections = kMaxConnections;
    if (options.web_config) {
      std::string why;
      server_options.web = load_web_config(*options.web_config, &why);
      if (!server_options.web) {
        *error = {ExporterStartError::Kind::kWebConfig, why};
        return false;
      }
    }
    auto server = HttpServer::create(io_, server_options);
    if (!server) {
      *error = {ExporterStartError::Kind::kListen,
                "cannot listen on " + escape_for_terminal(options.listen, 300) + ": " + describe(server.error())};
      return false;
    }
    server_ = std::move(*server);
    address_ = server_->local_address();
    scheme_ = server_options.web && server_options.web->tls ? "https" : "http";
    add_routes();
    return true;
  }

  void run() {
    spdlog::info("metrics: listening on {}://{}", scheme_, address_);
    thread_ = std::thread([this] { serve_until_stopped(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    // The server and the connections are closed on their own thread; then
    // the loop is told to stop, whatever handlers are still pending.
    asio::post(io_, [this] {
      server_->stop();
      scraper_.stop();
      work_.reset();
      io_.stop();
    });
    thread_.join();
  }

  const std::string& address() const { return address_; }

 private:
  // A handler that throws (bad_alloc while rendering a page) must not end
  // serve: its connection is dropped with it, the loop goes on for the
  // others. run() returns normally only once stop() stopped the loop.
  void serve_until_stopped() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& error) {
        spdlog::error("metrics: a request failed: {}", escape_for_terminal(error.what(), 300));
      } catch (...) {
        spdlog::error("metrics: a request failed");
      }
    }
  }

  void add_routes() {
    server_->add_route("/metrics", [this](const HttpRequest& request, Respond respond) {
      std::optional<milliseconds> budget;
      if (request.scrape_timeout) {
        budget = std::max(milliseconds(1), *request.scrape_timeout - scrape_budget_margin(*request.scrape_timeout));
      }
      const auto format = negotiate_format(request.accept);
      scraper_.scrape(budget, [format, respond = std::move(respond)](ScrapeResult vms) {
        if (!vms) {
          return respond(text_response(503, "text/plain; charset=utf-8", "serve's status could not be read\n"));
        }
        respond(text_response(200, std::string(content_type(format)), metrics_text(*vms, format)));
      });
    });
    server_->add_route("/", [this](const HttpRequest&, Respond respond) {
      scraper_.status([respond = std::move(respond)](StatusResult vms) {
        if (!vms) {
          return respond(text_response(503, "text/plain; charset=utf-8", "serve's status could not be read\n"));
        }
        respond(text_response(200, "text/html; charset=utf-8", index_html(*vms)));
      });
    });
    server_->add_route("/healthz", [](const HttpRequest&, Respond respond) {
      respond(text_response(200, "text/plain; charset=utf-8", "ok\n"));
    });
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Scraper scraper_;
  std::unique_ptr<HttpServer> server_;
  std::string address_;
  std::string scheme_;
  std::thread thread_;
};

std::unique_ptr<Exporter> Exporter::start(const ExporterOptions& options, ExporterStartError* error) {
  auto impl = std::make_unique<Impl>(options);
  if (!impl->bind(options, error)) return nullptr;
  impl->run();
  return std::unique_ptr<Exporter>(new Exporter(std::move(impl)));
}

Exporter::Exporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Exporter::~Exporter() { stop(); }

const std::string& Exporter::local_address() const { return impl_->address(); }

void Exporter::stop() { impl_->stop(); }

}  // namespace ktstats::metrics
