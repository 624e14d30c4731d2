#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metrics_page.hpp"

namespace boost::asio {
class io_context;
}

namespace ktstats::metrics {

struct ScraperOptions {
  std::string control_socket;  // serve's RUNTIME/+control/stats
  // A VM's fetch (connect when needed, stats_meta and stats) at most this long.
  std::chrono::milliseconds timeout{5'000};
  std::size_t max_vms = 4'096;  // VMs past it (in serve's order) are not scraped
};

// Everything a scrape found: each VM's outcome in serve's order; nullopt
// when serve's status could not be read.
using ScrapeResult = std::optional<std::vector<VmOutcome>>;
using StatusResult = std::optional<std::vector<VmRow>>;

// Scrapes every VM serve serves, through serve's own sockets, on the
// io_context's thread (every call and callback there). The VM list is
// serve's control socket's status; each VM has one connection to serve's
// socket for it, kept between scrapes so that the guest sees one session;
// every fetch asks stats_meta and stats in one round trip, so the schema
// is always the current scheduler's. All VMs are fetched at once; a VM's
// fetch in flight is shared by every scrape that wants it.
class Scraper {
 public:
  Scraper(boost::asio::io_context& io, ScraperOptions options);
  ~Scraper();
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // Fetches every VM, each within min(timeout, budget), and calls done once.
  void scrape(std::optional<std::chrono::milliseconds> budget, std::function<void(ScrapeResult)> done);
  // serve's VMs and their state, without fetching them.
  void status(std::function<void(StatusResult)> done);
  // Closes every connection and cancels every timer; callbacks pending
  // are dropped.
  void stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ktstats::metrics
