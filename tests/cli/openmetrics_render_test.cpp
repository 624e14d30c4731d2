// The exposition renderer on what a hostile guest could send: every name
// made valid, every collision resolved by the documented rule, no duplicate
// family or series, values spelled as the formats want. The same cases go
// through promtool and prometheus_client in check-exposition-hostile.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <boost/json/parse.hpp>

#include "render/metric_names.hpp"
#include "render/render.hpp"

namespace ktstats::cli {
namespace {

std::string render(const char* meta_text, const boost::json::value& payload,
                   ExpositionFormat format = ExpositionFormat::kOpenMetrics,
                   const std::vector<MetricLabel>& labels = {}) {
  auto meta = parse_stats_meta(boost::json::parse(meta_text));
  EXPECT_TRUE(meta);
  if (!meta) return "";
  Exposition exposition;
  add_stats(exposition, payload, *meta, struct_of(payload, *meta, true), labels);
  return exposition.text(format);
}

std::string render(const char* meta_text, const char* payload_text,
                   ExpositionFormat format = ExpositionFormat::kOpenMetrics) {
  return render(meta_text, boost::json::parse(payload_text), format);
}

TEST(MetricNames, MetricNamesKeepValidNamesAndReplaceEachOtherCharacter) {
  EXPECT_EQ(metric_name("ns:cpu_busy_2"), "ns:cpu_busy_2");
  EXPECT_EQ(metric_name("a-b"), "a_b");
  EXPECT_EQ(metric_name("0day"), "_0day");
  EXPECT_EQ(metric_name(""), "_");
  EXPECT_EQ(metric_name("na\xC3\xAFve"), "na_ve");  // one '_' per character
  EXPECT_EQ(metric_name("x\x01\x1B\xFFy"), "x___y");  // controls and invalid bytes
  EXPECT_EQ(metric_name("__internal"), "__internal");
}

TEST(MetricNames, LabelNamesLoseColonsAndTheReservedDoubleUnderscore) {
  EXPECT_EQ(label_name("cpu"), "cpu");
  EXPECT_EQ(label_name("cpu:id"), "cpu_id");
  EXPECT_EQ(label_name("__name__"), "_name__");
  EXPECT_EQ(label_name("___meta"), "_meta");
  EXPECT_EQ(label_name("__"), "_");
  EXPECT_EQ(label_name(""), "_");
  EXPECT_EQ(label_name("1st"), "_1st");
  EXPECT_EQ(label_name("k\xC3\xA9y"), "k_y");
}

TEST(MetricNames, LabelValuesEscapeWhatTheFormatsEscapeAndHideWhatATerminalWouldNotShow) {
  EXPECT_EQ(label_value_text("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(label_value_text("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(label_value_text("t\tx\x1B[31m\x7F"), "t?x?[31m?");
  EXPECT_EQ(label_value_text("c1\xC2\x9B"), "c1?");            // a C1 control
  EXPECT_EQ(label_value_text("bidi\xE2\x80\xAE"), "bidi?");    // U+202E
  EXPECT_EQ(label_value_text("bad\xFF\xED\xA0\x80"), "bad????");  // invalid, a surrogate
}

TEST(MetricNames, HelpQuotesAsEachFormatAndPromtoolReadThem) {
  EXPECT_EQ(help_text("say \"hi\"\\\n", ExpositionFormat::kPrometheus), "say \"hi\"\\\\\\n");
  EXPECT_EQ(help_text("say \"hi\"\\\n", ExpositionFormat::kOpenMetrics), "say 'hi'\\\\\\n");
}

constexpr const char* kFloats = R"({
  "Top": {"top": null, "fields": {
    "big": {"datum": "float", "desc": "Past the range"},
    "small": {"datum": "float", "desc": "Past the range, negative"},
    "nan": {"datum": "float", "desc": "Not a number"}}}})";

TEST(OpenMetricsRender, InfinitiesAndNaNAreSpelledAsTheFormatsWant) {
  boost::json::object payload;
  payload["big"] = std::numeric_limits<double>::infinity();
  payload["small"] = -std::numeric_limits<double>::infinity();
  payload["nan"] = std::nan("");
  for (const auto format : {ExpositionFormat::kOpenMetrics, ExpositionFormat::kPrometheus}) {
    const auto text = render(kFloats, payload, format);
    EXPECT_NE(text.find("\nbig +Inf\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nsmall -Inf\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nnan NaN\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("inf"), std::string::npos) << text;
  }
}

TEST(OpenMetricsRender, NumbersPastADoubleFromJsonAreInfinities) {
  const auto text = render(kFloats, R"({"big": 1e400, "small": -1e400})");
  EXPECT_NE(text.find("big +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("small -Inf\n"), std::string::npos) << text;
}

TEST(OpenMetricsRender, IntegersAreWrittenInFull) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "max": {"datum": "u64"}, "min": {"datum": "i64"}}}})",
                           R"({"max": 18446744073709551615, "min": -9223372036854775808})");
  EXPECT_EQ(text,
            "# TYPE max gauge\nmax 18446744073709551615\n"
            "# TYPE min gauge\nmin -9223372036854775808\n# EOF\n");
}

constexpr const char* kDictOf = R"({
  "Top": {"top": null, "fields": {
    "cpus": {"dict": {"key": "string", "datum": {"struct": "Cpu"}}}}},
  "Cpu": {"user": {"_om_prefix": "cpu_", "_om_label": "%s"}, "fields": {
    "util": {"datum": "float"}}}})";

std::string dict_meta(const std::string& label) {
  std::string meta = kDictOf;
  meta.replace(meta.find("%s"), 2, label);
  return meta;
}

TEST(OpenMetricsRender, ALabelNameWithAColonLosesIt) {
  const auto text = render(dict_meta("cpu:id").c_str(), R"({"cpus": {"0": {"util": 1}}})");
  EXPECT_EQ(text, "# TYPE cpu_util gauge\ncpu_util{cpu_id=\"0\"} 1\n# EOF\n");
}

TEST(OpenMetricsRender, ReservedLabelNamesAreNotEmitted) {
  for (const char* reserved : {"__name__", "__address__", "__"}) {
    const auto text = render(dict_meta(reserved).c_str(), R"({"cpus": {"0": {"util": 1}}})");
    EXPECT_EQ(text.find("{__"), std::string::npos) << text;
    EXPECT_NE(text.find("cpu_util{_"), std::string::npos) << text;
  }
  EXPECT_EQ(render(dict_meta("__name__").c_str(), R"({"cpus": {"0": {"util": 1}}})"),
            "# TYPE cpu_util gauge\ncpu_util{_name__=\"0\"} 1\n# EOF\n");
}

TEST(OpenMetricsRender, EmptyAndDigitLeadingNamesGetAnUnderscore) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "": {"datum": "u64"}, "0day": {"datum": "u64"},
      "cpus": {"dict": {"key": "string", "datum": {"struct": "Cpu"}}}}},
    "Cpu": {"user": {"_om_label": "1st"}, "fields": {"x": {"datum": "u64"}}}})",
                           R"({"": 1, "0day": 2, "cpus": {"0": {"x": 3}}})");
  EXPECT_EQ(text,
            "# TYPE _ gauge\n_ 1\n# TYPE _0day gauge\n_0day 2\n"
            "# TYPE x gauge\nx{_1st=\"0\"} 3\n# EOF\n");
}

TEST(OpenMetricsRender, NonAsciiAndControlBytesInNamesBecomeUnderscores) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "na\u00efve\u0001\u001b[1m": {"datum": "u64", "desc": "Bell\u0007 and \u00e9"}}}})",
                           R"({"na\u00efve\u0001\u001b[1m": 1})");
  EXPECT_EQ(text,
            "# TYPE na_ve___1m gauge\n# HELP na_ve___1m Bell? and \xC3\xA9\n"
            "na_ve___1m 1\n# EOF\n");
}

TEST(OpenMetricsRender, LabelValuesAreEscaped) {
  const auto text = render(dict_meta("k").c_str(),
                           R"({"cpus": {"q\"": {"util": 1}, "b\\s": {"util": 2},
                               "n\nl": {"util": 3}, "e\u001b": {"util": 4}}})");
  EXPECT_EQ(text,
            "# TYPE cpu_util gauge\n"
            "cpu_util{k=\"q\\\"\"} 1\ncpu_util{k=\"b\\\\s\"} 2\ncpu_util{k=\"n\\nl\"} 3\n"
            "cpu_util{k=\"e?\"} 4\n# EOF\n");
}

TEST(OpenMetricsRender, FieldsThatSanitiseAlikeAreTwoFamiliesTheValidNameKeepingIts) {
  // a-b comes first in the schema, but a_b needed no change: it keeps a_b.
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "a-b": {"datum": "u64"}, "a_b": {"datum": "u64"}, "a.b": {"datum": "u64"}}}})",
                           R"({"a-b": 1, "a_b": 2, "a.b": 3})");
  EXPECT_EQ(text,
            "# TYPE a_b_2 gauge\na_b_2 1\n# TYPE a_b gauge\na_b 2\n"
            "# TYPE a_b_3 gauge\na_b_3 3\n# EOF\n");
}

TEST(OpenMetricsRender, ANumberedNameAlreadyHeldIsSkipped) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "a-b": {"datum": "u64"}, "a_b": {"datum": "u64"}, "a_b_2": {"datum": "u64"}}}})",
                           R"({"a-b": 1, "a_b": 2, "a_b_2": 3})");
  EXPECT_NE(text.find("\na_b_3 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\na_b 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\na_b_2 3\n"), std::string::npos) << text;
}

TEST(OpenMetricsRender, NestedDictsSharingALabelNameNumberTheInnerOne) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "cpus": {"dict": {"key": "string", "datum": {"struct": "Cpu"}}}}},
    "Cpu": {"user": {"_om_label": "cpu"}, "fields": {
      "threads": {"dict": {"key": "string", "datum": {"struct": "Thread"}}}}},
    "Thread": {"user": {"_om_label": "cpu"}, "fields": {"runs": {"datum": "u64"}}}})",
                           R"({"cpus": {"0": {"threads": {"k": {"runs": 7}}}}})");
  EXPECT_EQ(text, "# TYPE runs gauge\nruns{cpu=\"0\",cpu_2=\"k\"} 7\n# EOF\n");
}

TEST(OpenMetricsRender, AStructHoldingADictOfItselfGivesOneLabelPerLevel) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "nodes": {"dict": {"key": "string", "datum": {"struct": "Node"}}}}},
    "Node": {"user": {"_om_label": "n"}, "fields": {"v": {"datum": "u64"},
      "nodes": {"dict": {"key": "string", "datum": {"struct": "Node"}}}}}})",
                           R"({"nodes": {"a": {"v": 1, "nodes": {"b": {"v": 2,
                                 "nodes": {"c": {"v": 3}}}}}}})");
  EXPECT_EQ(text,
            "# TYPE v gauge\nv{n=\"a\"} 1\n"
            "# TYPE v_2 gauge\nv_2{n=\"a\",n_2=\"b\"} 2\n"
            "# TYPE v_3 gauge\nv_3{n=\"a\",n_2=\"b\",n_3=\"c\"} 3\n# EOF\n");
}

TEST(OpenMetricsRender, TwoDictsOfOneStructAreTwoFamilies) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "doms": {"dict": {"key": "string", "datum": {"struct": "Dom"}}},
      "more_doms": {"dict": {"key": "string", "datum": {"struct": "Dom"}}}}},
    "Dom": {"user": {"_om_prefix": "d_", "_om_label": "dom"}, "fields": {
      "load": {"datum": "u64"}}}})",
                           R"({"doms": {"0": {"load": 1}}, "more_doms": {"0": {"load": 2}}})");
  EXPECT_EQ(text,
            "# TYPE d_load gauge\nd_load{dom=\"0\"} 1\n"
            "# TYPE d_load_2 gauge\nd_load_2{dom=\"0\"} 2\n# EOF\n");
}

TEST(OpenMetricsRender, KeysThatEscapeAlikeGiveOneSeriesTheFirst) {
  const auto text = render(dict_meta("k").c_str(),
                           R"({"cpus": {"x\u0001": {"util": 1}, "x\u0002": {"util": 2}}})");
  EXPECT_EQ(text, "# TYPE cpu_util gauge\ncpu_util{k=\"x?\"} 1\n# EOF\n");
}

TEST(OpenMetricsRender, CallersLabelsComeFirstAndKeepTheirNames) {
  const auto payload = boost::json::parse(R"({"cpus": {"0": {"util": 1}}})");
  const auto text =
      render(dict_meta("vm").c_str(), payload, ExpositionFormat::kOpenMetrics, {{"vm", "a\"b"}});
  EXPECT_EQ(text, "# TYPE cpu_util gauge\ncpu_util{vm=\"a\\\"b\",vm_2=\"0\"} 1\n# EOF\n");
}

TEST(OpenMetricsRender, TwoSourcesOfOneFamilyShareItWithTheirOwnLabels) {
  // As serve adds each VM's stats: the same field of two VMs is one family.
  auto meta = parse_stats_meta(boost::json::parse(kFloats));
  ASSERT_TRUE(meta);
  Exposition exposition;
  for (const auto* vm : {"one", "two", "one"}) {
    const auto payload = boost::json::parse(R"({"big": 1})");
    add_stats(exposition, payload, *meta, struct_of(payload, *meta, true), {{"vm", vm}});
  }
  EXPECT_EQ(exposition.text(ExpositionFormat::kOpenMetrics),
            "# TYPE big gauge\n# HELP big Past the range\n"
            "big{vm=\"one\"} 1\nbig{vm=\"two\"} 1\n# EOF\n");
}

TEST(OpenMetricsRender, AnExportersOwnFamiliesAddedFirstKeepTheirNames) {
  Exposition exposition;
  const auto up = exposition.family("own:up", "ktstats_up", "1 when the VM answered");
  const auto errors = exposition.family("own:errors", "ktstats_scrape_errors", "Failed scrapes",
                                        Exposition::Type::kCounter);
  exposition.add(up, {{"vm", "one"}}, std::int64_t{1});
  exposition.add(errors, {{"vm", "one"}, {"kind", "timeout"}}, std::uint64_t{3});
  auto meta = parse_stats_meta(boost::json::parse(R"({"Top": {"top": null, "fields": {
      "ktstats_up": {"datum": "u64"}, "ktstats_scrape_errors_total": {"datum": "u64"}}}})"));
  ASSERT_TRUE(meta);
  const auto payload = boost::json::parse(R"({"ktstats_up": 5, "ktstats_scrape_errors_total": 6})");
  add_stats(exposition, payload, *meta, struct_of(payload, *meta, true), {{"vm", "one"}});
  EXPECT_EQ(exposition.text(ExpositionFormat::kOpenMetrics),
            "# TYPE ktstats_up gauge\n# HELP ktstats_up 1 when the VM answered\n"
            "ktstats_up{vm=\"one\"} 1\n"
            "# TYPE ktstats_scrape_errors counter\n# HELP ktstats_scrape_errors Failed scrapes\n"
            "ktstats_scrape_errors_total{vm=\"one\",kind=\"timeout\"} 3\n"
            "# TYPE ktstats_up_2 gauge\nktstats_up_2{vm=\"one\"} 5\n"
            "# TYPE ktstats_scrape_errors_total_2 gauge\n"
            "ktstats_scrape_errors_total_2{vm=\"one\"} 6\n# EOF\n");
  // The Prometheus text format names a counter as its samples.
  const auto prometheus = exposition.text(ExpositionFormat::kPrometheus);
  EXPECT_NE(prometheus.find("# TYPE ktstats_scrape_errors_total counter\n"
                            "# HELP ktstats_scrape_errors_total Failed scrapes\n"
                            "ktstats_scrape_errors_total{vm=\"one\",kind=\"timeout\"} 3\n"),
            std::string::npos)
      << prometheus;
}

TEST(OpenMetricsRender, PrometheusTextHasNoEofAndLeavesQuotesInHelp) {
  const auto text = render(R"({"Top": {"top": null, "fields": {
      "x": {"datum": "u64", "desc": "The \"x\""}}}})",
                           R"({"x": 1})", ExpositionFormat::kPrometheus);
  EXPECT_EQ(text, "# TYPE x gauge\n# HELP x The \"x\"\nx 1\n");
}

TEST(OpenMetricsRender, NothingToSayIsStillAnExposition) {
  EXPECT_EQ(render(kFloats, "{}"), "# EOF\n");
  EXPECT_EQ(render(kFloats, "{}", ExpositionFormat::kPrometheus), "");
}

}  // namespace
}  // namespace ktstats::cli
