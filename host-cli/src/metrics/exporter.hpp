#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ktstats::metrics {

struct ExporterOptions {
  std::string listen;                     // HOST:PORT, [V6]:PORT; port 0 takes any
  std::optional<std::string> web_config;  // exporter-toolkit's web config file
  std::chrono::milliseconds timeout{5'000};  // a VM's fetch at most this long
  std::string control_socket;             // serve's RUNTIME/+control/stats
};

// Why the exporter did not start; run_serve maps the kind to its exit status.
struct ExporterStartError {
  enum class Kind {
    kWebConfig,  // the web config file cannot be used
    kListen,     // the address cannot be bound (in use, not local, malformed)
  };
  Kind kind;
  std::string message;  // for people, escaped
};

// serve's /metrics endpoint: one thread of its own running the HTTP server
// and the scraper (metrics/scraper.hpp); serve's event loop is not touched.
// Routes: /metrics, / (an index page) and /healthz.
class Exporter {
 public:
  // Loads the web config and binds before returning, so that a bad file
  // or an address in use is reported before serve runs; then starts the
  // thread. Logs "metrics: listening on http[s]://ADDRESS".
  static std::unique_ptr<Exporter> start(const ExporterOptions& options, ExporterStartError* error);
  ~Exporter();  // stop()
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // The address bound, as HOST:PORT.
  const std::string& local_address() const;
  // Closes the server and the VMs' connections and joins the thread.
  void stop();

 private:
  class Impl;
  explicit Exporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstats::metrics
