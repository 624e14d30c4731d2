#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "render/metric_names.hpp"
#include "render/stats_meta.hpp"

namespace ktstats::metrics {

// Why a VM's fetch gave no stats. A small fixed set: each is a label value
// of ktstats_scrape_errors_total (docs/SERVE.md).
enum class ScrapeError : std::size_t {
  kUnreachable,  // serve's socket for the VM refused, or the connection broke
  kTimeout,      // no answer within the VM's timeout
  kErrorAnswer,  // an error answer (the VM, its relay or its scheduler is down or restarting)
  kProtocol,     // an answer that is not stats (or not a schema) as expected
  kOversize,     // an answer line over the line cap
};
inline constexpr std::size_t kScrapeErrorKinds = 5;
std::string_view scrape_error_name(ScrapeError error);

using ErrorCounts = std::array<std::uint64_t, kScrapeErrorKinds>;

// One VM in one scrape: what serve's status says of it and what its fetch got.
struct VmOutcome {
  std::string name;
  std::string state;          // serve's link state, as `ktstats vms` names it
  std::string relay_version;  // empty when not known
  double duration_seconds = 0;
  std::optional<ScrapeError> error;  // none: payload, meta and root hold the stats
  std::shared_ptr<const boost::json::value> payload;
  std::shared_ptr<const cli::StatsMeta> meta;
  const cli::StructMeta* root = nullptr;  // in *meta
  ErrorCounts errors_total{};             // since first scraped at its socket
};

// The format a scraper's Accept header asks for: OpenMetrics when it names
// application/openmetrics-text, else the Prometheus text format.
cli::ExpositionFormat negotiate_format(std::string_view accept);
// The Content-Type of a page in that format.
std::string_view content_type(cli::ExpositionFormat format);

// The /metrics page: the exporter's own families (ktstats_up,
// ktstats_scrape_duration_seconds, ktstats_scrape_errors_total,
// ktstats_relay_info), then each VM's stats, every sample labelled vm first.
// Names are resolved per VM, as `ktstats stats` names that VM's alone with
// the exporter's names and the vm label held first, so a VM's names never
// depend on other VMs; the same name from several VMs is then one family,
// described (TYPE, HELP) by the first VM in serve's order that has it.
std::string metrics_text(const std::vector<VmOutcome>& vms, cli::ExpositionFormat format);

// One VM as the index page lists it.
struct VmRow {
  std::string name;
  std::string state;
  std::string relay_version;
};

// The index page: a link to /metrics and the VMs with their state, every
// text from outside escaped for HTML.
std::string index_html(const std::vector<VmRow>& vms);

// Text made safe between HTML tags and in attribute values.
std::string html_escape(std::string_view text);

}  // namespace ktstats::metrics
