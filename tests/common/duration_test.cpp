#include "ktstats/duration.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ktstats {
namespace {

using std::chrono::milliseconds;

milliseconds parsed(const char* text) {
  std::string why;
  const auto duration = parse_duration(text, &why);
  EXPECT_TRUE(duration.has_value()) << text << ": " << why;
  return duration.value_or(milliseconds(-1));
}

std::string refusal(const char* text) {
  std::string why;
  EXPECT_FALSE(parse_duration(text, &why).has_value()) << text;
  return why;
}

TEST(ParseDuration, EveryUnitAndNoUnitAsSeconds) {
  EXPECT_EQ(parsed("500ms"), milliseconds(500));
  EXPECT_EQ(parsed("5s"), milliseconds(5000));
  EXPECT_EQ(parsed("5"), milliseconds(5000));
  EXPECT_EQ(parsed("2m"), milliseconds(120'000));
  EXPECT_EQ(parsed("2min"), milliseconds(120'000));
  EXPECT_EQ(parsed("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parsed("0"), milliseconds(0));
  EXPECT_EQ(parsed("0007s"), milliseconds(7000));
}

TEST(ParseDuration, DecimalsRoundToTheNearestMillisecondHalvesUp) {
  EXPECT_EQ(parsed("1.5s"), milliseconds(1500));
  EXPECT_EQ(parsed(".5s"), milliseconds(500));
  EXPECT_EQ(parsed("5."), milliseconds(5000));
  EXPECT_EQ(parsed("0.0005s"), milliseconds(1));
  EXPECT_EQ(parsed("0.0004999s"), milliseconds(0));
  EXPECT_EQ(parsed("1.2345678901234s"), milliseconds(1235));
  EXPECT_EQ(parsed("0.5ms"), milliseconds(1));
  EXPECT_EQ(parsed("1.25m"), milliseconds(75'000));
}

TEST(ParseDuration, UpToADay) {
  EXPECT_EQ(parsed("24h"), kMaxDuration);
  EXPECT_EQ(parsed("86400000ms"), kMaxDuration);
  EXPECT_EQ(parsed("86399.9995s"), kMaxDuration);
  for (const char* text : {"25h", "86400001ms", "86400.0005s", "99999999999999999999999999h"}) {
    EXPECT_NE(refusal(text).find("the longest accepted is 24h"), std::string::npos) << text;
  }
}

TEST(ParseDuration, AnythingElseIsNoDuration) {
  for (const char* text : {"", ".", "s", "-1s", "+5s", "1e3", "nan", "inf", "5 s", " 5s", "5d",
                           "1.2.3s", "0x10", "5S"}) {
    EXPECT_NE(refusal(text).find("is not a duration"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace ktstats
