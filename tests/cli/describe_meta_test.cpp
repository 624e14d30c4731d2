// meta --describe in the layout of upstream's describe_meta, which a Rust
// scheduler prints for --help-stats, so a scheduler developer recognises it.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "render/render.hpp"

namespace ktstats::cli {
namespace {

StatsMeta meta_of(const char* json) {
  auto meta = parse_stats_meta(boost::json::parse(json));
  EXPECT_TRUE(meta.ok());
  return meta.ok() ? std::move(*meta) : StatsMeta{};
}

TEST(DescribeMeta, UpstreamsLayoutAndNotation) {
  // Upstream's example server's stats_meta, as it answers it.
  const auto meta = meta_of(R"({
    "ClusterStats": {"desc": "cluster statistics", "name": "ClusterStats", "top": "true",
      "fields": {
        "at": {"datum": "u64", "desc": "update timestamp"},
        "bitmap": {"array": "u64", "desc": "some bitmap we want to report",
                   "user": {"_om_skip": "true"}},
        "doms_dict": {"desc": "domain statistics",
                      "dict": {"datum": {"struct": "DomainStats"}, "key": "u64"}},
        "name": {"datum": "string"}}},
    "DomainStats": {"desc": "domain statistics", "name": "DomainStats",
      "user": {"_om_label": "domain_name", "_om_prefix": "d_"},
      "fields": {
        "events": {"datum": "u64", "desc": "an event counter"},
        "name": {"datum": "string"},
        "pressure": {"datum": "float", "desc": "a gauge number"}}}})");
  // Upstream's own output, less the blanks it pads "name (string)" with.
  EXPECT_EQ(describe_meta(meta),
            "[ClusterStats] cluster statistics\n"
            "  at        (u64)               : update timestamp\n"
            "  bitmap    ([u64])             : some bitmap we want to report\n"
            "  doms_dict ({u64:DomainStats}) : domain statistics\n"
            "  name      (string)\n"
            "\n"
            "[DomainStats ] domain statistics\n"
            "  events    (u64)               : an event counter\n"
            "  name      (string)\n"
            "  pressure  (float)             : a gauge number");
}

TEST(DescribeMeta, DepthFirstFromTheTopInFieldOrderThenWhatItDoesNotReach) {
  const auto meta = meta_of(R"({
    "Other": {"fields": {"x": {"datum": "i64"}}},
    "C": {"fields": {"c": {"datum": "float"}}},
    "A": {"fields": {"cs": {"dict": {"key": "string", "datum": {"struct": "C"}}}}},
    "B": {"fields": {"b": {"datum": "u64"}}},
    "Top": {"top": "true", "fields": {
      "bs": {"array": {"struct": "B"}},
      "as": {"dict": {"key": "u64", "datum": {"struct": "A"}}}}}})");
  EXPECT_EQ(describe_meta(meta),
            "[Top  ]\n"
            "  bs ([B])\n"
            "  as ({u64:A})\n"
            "\n"
            "[B    ]\n"
            "  b  (u64)\n"
            "\n"
            "[A    ]\n"
            "  cs ({string:C})\n"
            "\n"
            "[C    ]\n"
            "  c  (float)\n"
            "\n"
            "[Other]\n"
            "  x  (i64)");
}

TEST(DescribeMeta, PeerTextIsEscaped) {
  const auto meta = meta_of(R"({
    "T\u001b[2J": {"top": "true", "desc": "d\u0007", "fields": {
      "f\n": {"datum": "u64", "desc": "e\u202e"}}}})");
  EXPECT_EQ(describe_meta(meta),
            "[T\\x1b[2J] d\\x07\n"
            "  f\\n (u64) : e\\u202e");
}

}  // namespace
}  // namespace ktstats::cli
