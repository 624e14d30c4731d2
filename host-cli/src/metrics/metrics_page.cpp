#include "metrics/metrics_page.hpp"

#include <map>
#include <tuple>

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

namespace {

// The exporter's own families, in the order served; their names (and a
// counter's _total and _created) are held in every VM's exposition before
// its stats, so no guest field takes them.
struct OwnFamily {
  std::string_view key;
  std::string_view name;
  std::string_view help;
  cli::Exposition::Type type;
};
constexpr OwnFamily kOwnFamilies[] = {
    {"up", "ktstats_up", "1 when this scrape of the VM got its stats", cli::Exposition::Type::kGauge},
    {"duration", "ktstats_scrape_duration_seconds", "How long this scrape of the VM took",
     cli::Exposition::Type::kGauge},
    {"errors", "ktstats_scrape_errors", "Failed scrapes of the VM by kind, since it was first scraped at its socket",
     cli::Exposition::Type::kCounter},
    {"relay", "ktstats_relay_info", "The version of the VM's ktstats-relay, when known",
     cli::Exposition::Type::kGauge},
};

bool own_family_name(std::string_view name) {
  for (const auto& own : kOwnFamilies) {
    if (name == own.name || name == std::string(own.name) + "_total") return true;
  }
  return false;
}

// One family as a VM's exposition wrote it: its TYPE and HELP lines and
// its sample lines.
struct WrittenFamily {
  std::string head;  // "# TYPE ..." and "# HELP ..." lines
  std::string samples;
};

// Splits an exposition's text (ours: one TYPE line opens each family, no
// line break inside a line) into its families, in order, by name.
void collect_families(const std::string& text, std::vector<std::string>& order,
                      std::map<std::string, WrittenFamily, std::less<>>& families) {
  WrittenFamily* current = nullptr;
  bool skipping = false;      // one of the exporter's own, held only to reserve its name
  bool first_writer = false;  // the first VM to write the family gives its TYPE and HELP
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (line.starts_with("# TYPE ")) {
      const auto rest = line.substr(7);
      const std::string name(rest.substr(0, rest.find(' ')));
      skipping = own_family_name(name);
      if (skipping) continue;
      const auto [found, added] = families.try_emplace(name);
      current = &found->second;
      first_writer = added;
      if (added) {
        order.push_back(name);
        current->head += std::string(line) + "\n";
      }
      continue;
    }
    if (skipping || current == nullptr || line == "# EOF") continue;
    if (line.starts_with("# HELP ")) {
      if (first_writer) current->head += std::string(line) + "\n";
      continue;
    }
    current->samples += std::string(line) + "\n";
  }
}

// A VM's stats as `ktstats stats` maps them alone, with the exporter's
// names and the vm label held first: a VM's names never depend on another VM.
std::string vm_stats_text(const VmOutcome& vm, cli::ExpositionFormat format) {
  cli::Exposition exposition;
  for (const auto& own : kOwnFamilies) {
    exposition.add(exposition.family(own.key, own.name, own.help, own.type), {}, std::int64_t{0});
  }
  cli::add_stats(exposition, *vm.payload, *vm.meta, vm.root, {{"vm", vm.name}});
  return exposition.text(format);
}

}  // namespace

std::string metrics_text(const std::vector<VmOutcome>& vms, cli::ExpositionFormat format) {
  using cli::Exposition;
  Exposition own;
  std::vector<Exposition::FamilyId> ids;
  for (const auto& family : kOwnFamilies) ids.push_back(own.family(family.key, family.name, family.help, family.type));
  const auto [up, duration, errors, relay] = std::tuple(ids[0], ids[1], ids[2], ids[3]);
  for (const auto& vm : vms) {
    const std::vector<cli::MetricLabel> vm_label{{"vm", vm.name}};
    own.add(up, vm_label, std::int64_t{vm.error ? 0 : 1});
    own.add(duration, vm_label, vm.duration_seconds);
    for (std::size_t kind = 0; kind < kScrapeErrorKinds; ++kind) {
      own.add(errors,
              {{"vm", vm.name}, {"kind", std::string(scrape_error_name(static_cast<ScrapeError>(kind)))}},
              vm.errors_total[kind]);
    }
    if (!vm.relay_version.empty()) {
      own.add(relay, {{"vm", vm.name}, {"version", vm.relay_version}}, std::int64_t{1});
    }
  }
  std::string out = own.text(format);
  if (format == cli::ExpositionFormat::kOpenMetrics) out.resize(out.size() - std::string_view("# EOF\n").size());
  // Each VM's families named on their own, then merged: the same name from
  // two VMs is one family (the first VM's TYPE and HELP), its samples told
  // apart by the vm label.
  std::vector<std::string> order;
  std::map<std::string, WrittenFamily, std::less<>> families;
  for (const auto& vm : vms) {
    if (vm.error || !vm.payload || !vm.meta || vm.root == nullptr) continue;
    collect_families(vm_stats_text(vm, format), order, families);
  }
  for (const auto& name : order) {
    const auto& family = families.at(name);
    out += family.head + family.samples;
  }
  if (format == cli::ExpositionFormat::kOpenMetrics) out += "# EOF\n";
  return out;
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
