// The OpenMetrics text for values JSON can carry but the format spells its
// own way.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "render/render.hpp"

namespace ktstats::cli {
namespace {

TEST(OpenMetricsRender, NumbersPastADoubleAreInfinitiesSpelledAsTheFormatWants) {
  auto meta = parse_stats_meta(boost::json::parse(R"({
    "Top": {"top": null, "fields": {
      "big": {"datum": "float", "desc": "Past the range"},
      "small": {"datum": "float", "desc": "Past the range, negative"}}}})"));
  ASSERT_TRUE(meta);
  const auto payload = boost::json::parse(R"({"big": 1e400, "small": -1e400})");
  const auto text = render_openmetrics(payload, *meta, struct_of(payload, *meta, true));
  EXPECT_NE(text.find("big +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("small -Inf\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("inf"), std::string::npos) << text;
}

}  // namespace
}  // namespace ktstats::cli
