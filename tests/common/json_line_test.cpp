#include "ktstats/json_line.hpp"

#include <gtest/gtest.h>

namespace ktstats {
namespace {

std::string protocol_error(std::string_view line) {
  auto parsed = parse_json_line(line);
  if (parsed.ok()) {
    ADD_FAILURE() << "accepted: " << line_excerpt(line);
    return {};
  }
  const auto* e = std::get_if<Protocol>(&parsed.error());
  if (e == nullptr) {
    ADD_FAILURE() << "not a Protocol error: " << describe(parsed.error());
    return {};
  }
  return e->what;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(ParseJsonLine, AcceptsValues) {
  EXPECT_TRUE(parse_json_line(R"({"a":[1,2,{"b":null}]})").ok());
  EXPECT_TRUE(parse_json_line("  [1]  \r").ok());
  EXPECT_TRUE(parse_json_line(R"("\u0000 escaped NUL is valid JSON")").ok());
}

TEST(ParseJsonLine, NotJson) {
  const auto what = protocol_error("hello world");
  EXPECT_TRUE(contains(what, "invalid JSON at byte 0")) << what;
  EXPECT_TRUE(contains(what, "\"hello world\"")) << what;
}

TEST(ParseJsonLine, TruncatedAndTrailing) {
  EXPECT_TRUE(contains(protocol_error(R"({"a":1)"), "invalid JSON"));
  const auto what = protocol_error(R"({"a":1} {"b":2})");
  EXPECT_TRUE(contains(what, "trailing data")) << what;
  EXPECT_TRUE(contains(what, "byte 8")) << what;
}

TEST(ParseJsonLine, EmptyAndBlankLines) {
  EXPECT_TRUE(contains(protocol_error(""), "empty line"));
  EXPECT_TRUE(contains(protocol_error(" \t\r"), "empty line"));
}

TEST(ParseJsonLine, NulByte) {
  const std::string line("{\"a\":\"x\0y\"}", 11);
  const auto what = protocol_error(line);
  EXPECT_TRUE(contains(what, "NUL byte at offset 7")) << what;
  EXPECT_TRUE(contains(what, "\\x00")) << what;  // shown escaped
}

TEST(ParseJsonLine, InvalidUtf8) {
  for (std::string_view bad : {"{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
                               "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
                               "{\"a\":\"\xe2\x82\"}"}) {
    const auto what = protocol_error(bad);
    EXPECT_TRUE(contains(what, "not valid UTF-8 (byte 6)")) << what;
  }
  EXPECT_TRUE(parse_json_line("{\"a\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}").ok());
}

TEST(ParseJsonLine, DepthLimit) {
  std::string at_limit(kMaxJsonDepth, '[');
  at_limit.append(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json_line(at_limit).ok());

  std::string past_limit(kMaxJsonDepth + 1, '[');
  past_limit.append(kMaxJsonDepth + 1, ']');
  EXPECT_TRUE(contains(protocol_error(past_limit), "nested deeper than 64 levels"));
}

TEST(ParseJsonLine, HundredThousandDeepIsRejectedWithoutCrashing) {
  const std::string deep(100'000, '[');
  EXPECT_TRUE(contains(protocol_error(deep), "nested deeper than 64 levels"));
  std::string objects;
  for (int i = 0; i < 100'000; ++i) objects += "{\"a\":";
  EXPECT_TRUE(contains(protocol_error(objects), "nested deeper"));
}

TEST(ParseJsonLine, ScalarsAndArraysParse) {
  for (const char* line : {"[1,2,3]", "3.25", R"("a string")"}) {
    EXPECT_TRUE(parse_json_line(line).ok()) << line;
  }
}

}  // namespace
}  // namespace ktstats
