// The /metrics page and the index page from per-VM outcomes, without I/O:
// the exporter's families, the vm label first, both formats, and text that
// stays valid whatever a VM's name or its scheduler's schema holds
// (checked with promtool and prometheus_client's parsers when installed).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <boost/json/parse.hpp>

#include "metrics/metrics_page.hpp"
#include "render/render.hpp"

namespace ktstats::metrics {
namespace {

using cli::ExpositionFormat;

constexpr const char* kMeta = R"({
  "Top": {"name": "Top", "top": null, "fields": {
      "busy": {"datum": "float", "desc": "Busy"},
      "layers": {"dict": {"key": "string", "datum": {"struct": "Layer"}}, "desc": "Layers"}},
    "user": {"_om_prefix": "fake_"}},
  "Layer": {"name": "Layer", "fields": {"util": {"datum": "float", "desc": "Util"}},
    "user": {"_om_prefix": "fake_layer_", "_om_label": "layer_name"}}
})";

VmOutcome answered(std::string name, const char* meta_text, const char* payload_text) {
  VmOutcome vm;
  vm.name = std::move(name);
  vm.state = "connected";
  auto meta = cli::parse_stats_meta(boost::json::parse(meta_text));
  EXPECT_TRUE(meta);
  vm.meta = std::make_shared<const cli::StatsMeta>(std::move(*meta));
  vm.payload = std::make_shared<const boost::json::value>(boost::json::parse(payload_text));
  vm.root = cli::struct_of(*vm.payload, *vm.meta, true);
  vm.duration_seconds = 0.25;
  return vm;
}

VmOutcome failed(std::string name, ScrapeError error) {
  VmOutcome vm;
  vm.name = std::move(name);
  vm.state = "backing_off";
  vm.error = error;
  vm.errors_total[static_cast<std::size_t>(error)] = 3;
  vm.duration_seconds = 5;
  return vm;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& each : lines_of(text)) {
    if (each == line) return true;
  }
  return false;
}

// Every sample line well formed, no series twice, and the text ends as the
// format wants.
void expect_valid(const std::string& text, ExpositionFormat format) {
  static const std::regex kSample(
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|[+-]Inf|NaN))");
  std::set<std::string> series;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, kSample)) << line;
    EXPECT_TRUE(series.insert(line.substr(0, line.rfind(' '))).second) << "twice: " << line;
  }
  const bool eof = text.size() >= 6 && text.compare(text.size() - 6, 6, "# EOF\n") == 0;
  EXPECT_EQ(eof, format == ExpositionFormat::kOpenMetrics);
}

// promtool and both prometheus_client parsers, each where installed.
void expect_tools_accept(const std::string& text, ExpositionFormat format) {
  char path[] = "/tmp/metrics-page-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  const std::string file = path;
  if (::access("/usr/bin/promtool", X_OK) == 0) {
    // 0: valid; 3: valid with lint findings only (such as a counter's name).
    const int status = std::system(("/usr/bin/promtool check metrics < " + file + " >/dev/null 2>&1").c_str());
    EXPECT_TRUE(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3)) << text;
  }
  if (std::system("/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1") == 0) {
    const std::string parser = format == ExpositionFormat::kOpenMetrics
                                   ? "from prometheus_client.openmetrics.parser import text_string_to_metric_families"
                                   : "from prometheus_client.parser import text_string_to_metric_families";
    const int status = std::system(("/usr/bin/python3 -c '" + parser +
                                    "\nimport sys\nlist(text_string_to_metric_families(open(sys.argv[1]).read()))' " +
                                    file)
                                       .c_str());
    EXPECT_EQ(status, 0) << text;
  }
  std::remove(path);
}

TEST(MetricsPage, ExporterFamiliesComeFirstWithTheVmLabelFirst) {
  auto vm1 = answered("vm1", kMeta, R"({"busy": 42.5, "layers": {"batch": {"util": 12.5}}})");
  vm1.relay_version = "0.2.0";
  const auto vm2 = failed("vm2", ScrapeError::kTimeout);
  const std::string text = metrics_text({vm1, vm2}, ExpositionFormat::kPrometheus);
  const auto lines = lines_of(text);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "# TYPE ktstats_up gauge") << text;
  EXPECT_TRUE(has_line(text, "# TYPE ktstats_up gauge")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_up{vm="vm1"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_up{vm="vm2"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_scrape_duration_seconds{vm="vm1"} 0.25)")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_scrape_duration_seconds{vm="vm2"} 5)")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE ktstats_scrape_errors_total counter")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_scrape_errors_total{vm="vm2",kind="timeout"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_scrape_errors_total{vm="vm1",kind="timeout"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_relay_info{vm="vm1",version="0.2.0"} 1)")) << text;
  EXPECT_EQ(text.find(R"(ktstats_relay_info{vm="vm2")"), std::string::npos) << text;
  // The stats after the exporter's own, labelled by VM first, then the dict's label.
  EXPECT_TRUE(has_line(text, R"(fake_busy{vm="vm1"} 42.5)")) << text;
  EXPECT_TRUE(has_line(text, R"(fake_layer_util{vm="vm1",layer_name="batch"} 12.5)")) << text;
  EXPECT_LT(text.find("ktstats_relay_info"), text.find("fake_busy")) << text;
  EXPECT_EQ(text.find(R"(vm="vm2"} 42.5)"), std::string::npos) << text;
  expect_valid(text, ExpositionFormat::kPrometheus);
  expect_tools_accept(text, ExpositionFormat::kPrometheus);
}

TEST(MetricsPage, EveryErrorKindIsASeriesOfEveryVm) {
  const std::string text = metrics_text({failed("a", ScrapeError::kOversize)}, ExpositionFormat::kPrometheus);
  for (const char* kind : {"unreachable", "timeout", "error_answer", "protocol", "oversize"}) {
    EXPECT_NE(text.find(std::string(R"(ktstats_scrape_errors_total{vm="a",kind=")") + kind + "\"}"),
              std::string::npos)
        << kind << "\n"
        << text;
  }
}

TEST(MetricsPage, OpenMetricsEndsWithEofAndTheCounterKeepsItsFamilyName) {
  const auto vm = answered("vm1", kMeta, R"({"busy": 1})");
  const std::string text = metrics_text({vm}, ExpositionFormat::kOpenMetrics);
  EXPECT_TRUE(has_line(text, "# TYPE ktstats_scrape_errors counter")) << text;
  EXPECT_TRUE(has_line(text, R"(ktstats_scrape_errors_total{vm="vm1",kind="protocol"} 0)")) << text;
  expect_valid(text, ExpositionFormat::kOpenMetrics);
  expect_tools_accept(text, ExpositionFormat::kOpenMetrics);
}

TEST(MetricsPage, NoVmsIsStillAValidPage) {
  EXPECT_EQ(metrics_text({}, ExpositionFormat::kOpenMetrics), "# EOF\n");
  EXPECT_EQ(metrics_text({}, ExpositionFormat::kPrometheus), "");
}

TEST(MetricsPage, AHostileSchemaAndVmNameGiveValidText) {
  // Fields that sanitise alike, a field named as the exporter's own family,
  // a dict label that is "vm" (a second vm label) or reserved, a colon in
  // a label name, values the formats spell out.
  constexpr const char* kHostileMeta = R"({
    "T": {"name": "T", "top": null, "fields": {
        "a-b": {"datum": "u64"}, "a_b": {"datum": "u64"},
        "ktstats_up": {"datum": "u64", "desc": "quote \" and \\ back\nslash"},
        "inf": {"datum": "float"},
        "d": {"dict": {"key": "string", "datum": {"struct": "V"}}},
        "e": {"dict": {"key": "string", "datum": {"struct": "N"}}},
        "c": {"dict": {"key": "string", "datum": {"struct": "C"}}}},
      "user": {"_om_prefix": ""}},
    "V": {"name": "V", "fields": {"x": {"datum": "u64"}}, "user": {"_om_prefix": "v_", "_om_label": "vm"}},
    "N": {"name": "N", "fields": {"x": {"datum": "u64"}}, "user": {"_om_prefix": "n_", "_om_label": "__name__"}},
    "C": {"name": "C", "fields": {"x": {"datum": "u64"}}, "user": {"_om_prefix": "c_", "_om_label": "cpu:id"}}
  })";
  auto vm = answered("vm\"1\\\n\x1b[31m", kHostileMeta,
                     R"({"a-b": 1, "a_b": 2, "ktstats_up": 7, "inf": 1e999,
                         "d": {"k\"\n": {"x": 1}}, "e": {"y": {"x": 2}}, "c": {"0": {"x": 3}}})");
  ASSERT_NE(vm.root, nullptr);
  vm.relay_version = "1\n\"x\"";
  for (const auto format : {ExpositionFormat::kPrometheus, ExpositionFormat::kOpenMetrics}) {
    const std::string text = metrics_text({vm, failed("vm2", ScrapeError::kProtocol)}, format);
    // The exporter's family keeps its name; the guest's field gets another.
    EXPECT_TRUE(has_line(text, "# TYPE ktstats_up gauge")) << text;
    EXPECT_NE(text.find("ktstats_up_2{"), std::string::npos) << text;
    EXPECT_NE(text.find("+Inf"), std::string::npos) << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    expect_valid(text, format);
    expect_tools_accept(text, format);
  }
}

TEST(MetricsPage, AVmsNamesNeverDependOnAnotherVmAndOneNameIsOneFamily) {
  constexpr const char* kMetaA = R"({"T": {"name": "T", "top": null, "fields": {
      "a-b": {"datum": "u64", "desc": "A's a-b"}, "a_b": {"datum": "u64", "desc": "A's a_b"}}, "user": {}}})";
  constexpr const char* kMetaB = R"({"T": {"name": "T", "top": null, "fields": {
      "a_b_2": {"datum": "u64", "desc": "B's a_b_2"}, "x": {"datum": "u64"}}, "user": {}}})";
  const auto a = answered("A", kMetaA, R"({"a-b": 1, "a_b": 2})");
  const auto b = answered("B", kMetaB, R"({"a_b_2": 5, "x": 6})");
  for (const auto format : {ExpositionFormat::kPrometheus, ExpositionFormat::kOpenMetrics}) {
    const std::string alone = metrics_text({a}, format);
    const std::string both = metrics_text({b, a}, format);
    // A's a-b is a_b_2 (its own a_b holds a_b) with B beside it or not.
    EXPECT_TRUE(has_line(alone, R"(a_b_2{vm="A"} 1)")) << alone;
    EXPECT_TRUE(has_line(both, R"(a_b_2{vm="A"} 1)")) << both;
    EXPECT_TRUE(has_line(both, R"(a_b{vm="A"} 2)")) << both;
    EXPECT_TRUE(has_line(both, R"(a_b_2{vm="B"} 5)")) << both;
    // One family of that name, described by the first VM to write it.
    std::size_t types = 0;
    for (const auto& line : lines_of(both)) types += line == "# TYPE a_b_2 gauge";
    EXPECT_EQ(types, 1U) << both;
    EXPECT_TRUE(has_line(both, "# HELP a_b_2 B's a_b_2")) << both;
    EXPECT_LT(both.find(R"(a_b_2{vm="B"})"), both.find(R"(a_b_2{vm="A"})")) << both;
    expect_valid(both, format);
    expect_tools_accept(both, format);
  }
}

TEST(MetricsPage, AcceptHeaderChoosesTheFormat) {
  EXPECT_EQ(negotiate_format(""), ExpositionFormat::kPrometheus);
  EXPECT_EQ(negotiate_format("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), ExpositionFormat::kPrometheus);
  EXPECT_EQ(negotiate_format("application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(negotiate_format("Application/OpenMetrics-Text"), ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(content_type(ExpositionFormat::kOpenMetrics),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(content_type(ExpositionFormat::kPrometheus), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(MetricsPage, IndexPageEscapesEveryTextAndLinksMetrics) {
  const std::string page = index_html({{"<script>alert('x')</script>&", "connected", "0.2.0\"><b>"}});
  EXPECT_NE(page.find("<a href=\"/metrics\">"), std::string::npos) << page;
  EXPECT_EQ(page.find("<script>"), std::string::npos) << page;
  EXPECT_NE(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"), std::string::npos) << page;
  EXPECT_NE(page.find("0.2.0&quot;&gt;&lt;b&gt;"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>connected</td>"), std::string::npos) << page;
  EXPECT_EQ(html_escape("a\x1b[1m"), "a\\x1b[1m") ;
}

}  // namespace
}  // namespace ktstats::metrics
