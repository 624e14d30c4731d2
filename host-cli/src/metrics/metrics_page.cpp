#include "metrics/metrics_page.hpp"

#include "ktstats/terminal_text.hpp"
#include "render/exposition.hpp"
#include "render/render.hpp"

namespace ktstats::metrics {

std::string_view scrape_error_name(ScrapeError error) {
  switch (error) {
    case ScrapeError::kUnreachable: return "unreachable";
    case ScrapeError::kTimeout: return "timeout";
    case ScrapeError::kErrorAnswer: return "error_answer";
    case ScrapeError::kProtocol: return "protocol";
    case ScrapeError::kOversize: return "oversize";
  }
  return "unknown";
}

cli::ExpositionFormat negotiate_format(std::string_view accept) {
  // Media types are case-insensitive; any mention is a request for it
  // (Prometheus lists it first, with a q-value, among fallbacks).
  std::string lower(accept);
  for (auto& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower.find("application/openmetrics-text") != std::string::npos
             ? cli::ExpositionFormat::kOpenMetrics
             : cli::ExpositionFormat::kPrometheus;
}

std::string_view content_type(cli::ExpositionFormat format) {
  return format == cli::ExpositionFormat::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

std::string metrics_text(const std::vector<VmOutcome>& vms, cli::ExpositionFormat format) {
  using cli::Exposition;
  Exposition exposition;
  // The exporter's families first, so that they keep their names whatever
  // a guest's schema calls its fields.
  const auto up = exposition.family("up", "ktstats_up", "1 when this scrape of the VM got its stats");
  const auto duration = exposition.family("duration", "ktstats_scrape_duration_seconds",
                                          "How long this scrape of the VM took");
  const auto errors = exposition.family("errors", "ktstats_scrape_errors",
                                        "Failed scrapes of the VM by kind, since serve started",
                                        Exposition::Type::kCounter);
  const auto relay = exposition.family("relay", "ktstats_relay_info",
                                       "The version of the VM's ktstats-relay, when known");
  for (const auto& vm : vms) {
    const std::vector<cli::MetricLabel> vm_label{{"vm", vm.name}};
    exposition.add(up, vm_label, std::int64_t{vm.error ? 0 : 1});
    exposition.add(duration, vm_label, vm.duration_seconds);
    for (std::size_t kind = 0; kind < kScrapeErrorKinds; ++kind) {
      exposition.add(errors,
                     {{"vm", vm.name}, {"kind", std::string(scrape_error_name(static_cast<ScrapeError>(kind)))}},
                     vm.errors_total[kind]);
    }
    if (!vm.relay_version.empty()) {
      exposition.add(relay, {{"vm", vm.name}, {"version", vm.relay_version}}, std::int64_t{1});
    }
  }
  for (const auto& vm : vms) {
    if (vm.error || !vm.payload || !vm.meta || vm.root == nullptr) continue;
    cli::add_stats(exposition, *vm.payload, *vm.meta, vm.root, {{"vm", vm.name}});
  }
  return exposition.text(format);
}

std::string html_escape(std::string_view text) {
  // Controls and invalid UTF-8 first made visible as a terminal would show them.
  const std::string shown = escape_for_terminal(text, 1000);
  std::string out;
  out.reserve(shown.size());
  for (const char c : shown) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string index_html(const std::vector<VmRow>& vms) {
  std::string page =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ktstats serve</title></head>\n"
      "<body>\n<h1>ktstats serve</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n";
  if (vms.empty()) {
    page += "<p>No VMs.</p>\n";
  } else {
    page += "<table>\n<tr><th>VM</th><th>State</th><th>Relay</th></tr>\n";
    for (const auto& vm : vms) {
      page += "<tr><td>" + html_escape(vm.name) + "</td><td>" + html_escape(vm.state) + "</td><td>" +
              html_escape(vm.relay_version) + "</td></tr>\n";
    }
    page += "</table>\n";
  }
  return page + "</body></html>\n";
}

}  // namespace ktstats::metrics
