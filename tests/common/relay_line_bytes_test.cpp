// The relay's own JSON writing and control-line recognition, byte by byte,
// checked against Boost.JSON (which the relay no longer links).
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <gtest/gtest.h>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"

namespace ktstats {
namespace {

std::string error_line_with_reason(std::string_view reason) {
  return encode_relay_error(RelayErrorKind::kClosed, reason);
}

// The reason as the error line writes it, between its quotes.
std::string written_reason(std::string_view reason) {
  const std::string line = error_line_with_reason(reason);
  const std::string_view head = R"({"ktstr_relay_error":)";
  const std::string_view tail = R"(,"kind":"closed"})";
  EXPECT_TRUE(line.starts_with(head) && line.ends_with(tail)) << line;
  return line.substr(head.size(), line.size() - head.size() - tail.size());
}

TEST(RelayLineBytes, EveryControlByteIsEscaped) {
  const std::string_view short_forms[] = {"\\b", "\\t", "\\n", "\\f", "\\r"};
  const char short_bytes[] = {'\b', '\t', '\n', '\f', '\r'};
  for (int byte = 0; byte < 0x20; ++byte) {
    std::string expected;
    for (int i = 0; i < 5; ++i) {
      if (byte == short_bytes[i]) expected = short_forms[i];
    }
    if (expected.empty()) {
      constexpr std::string_view kHex = "0123456789abcdef";
      expected = std::string("\\u00") + kHex[byte >> 4] + kHex[byte & 0xf];
    }
    EXPECT_EQ(written_reason(std::string(1, static_cast<char>(byte))), '"' + expected + '"')
        << "byte " << byte;
  }
}

TEST(RelayLineBytes, QuoteAndBackslashAreEscaped) {
  EXPECT_EQ(written_reason(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(written_reason(R"(\")"), R"("\\\"")");
}

TEST(RelayLineBytes, DelAndNonAsciiBytesPassThrough) {
  EXPECT_EQ(written_reason("\x7f"), "\"\x7f\"");
  EXPECT_EQ(written_reason("caf\xc3\xa9 \xe2\x80\xae"), "\"caf\xc3\xa9 \xe2\x80\xae\"");
  // Not UTF-8 either: the relay writes what it was given, as Boost.JSON did.
  EXPECT_EQ(written_reason("\xff\x80"), "\"\xff\x80\"");
}

TEST(RelayLineBytes, EveryByteIsWrittenAsBoostJsonWritesIt) {
  for (int byte = 0; byte < 0x100; ++byte) {
    const std::string text = "<" + std::string(1, static_cast<char>(byte)) + ">";
    EXPECT_EQ(written_reason(text), boost::json::serialize(boost::json::string(text)))
        << "byte " << byte;
  }
}

TEST(RelayLineBytes, AReasonReadsBackAsWritten) {
  std::string every_ascii;
  for (int byte = 1; byte < 0x80; ++byte) every_ascii += static_cast<char>(byte);
  every_ascii += "\xc3\xa9";
  auto parsed = parse_json_line(error_line_with_reason(every_ascii));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(relay_error_reason(*parsed), every_ascii);
}

TEST(RelayLineBytes, EchoesEscapeTheirStringsAndWriteTheLimitAsANumber) {
  const OpenReply reply{"s", "1\"2", std::numeric_limits<std::uint64_t>::max(), "r\n"};
  EXPECT_EQ(encode_open_reply(reply),
            R"({"ktstats_open":"s","relay":"r\n","version":"1\"2","max_sessions":18446744073709551615})");
  EXPECT_EQ(decode_open_reply(encode_open_reply(reply)), reply);
  EXPECT_EQ(encode_open_reply({"s", "v", 0}),
            R"({"ktstats_open":"s","relay":"ktstats-relay","version":"v","max_sessions":0})");
}

TEST(ControlLineBytes, AnyJsonWhitespaceBetweenTheTokens) {
  for (std::string_view space : {" ", "\t", "\n", "\r", " \t\r\n "}) {
    const std::string s(space);
    const std::string line =
        s + "{" + s + "\"ktstats_select\"" + s + ":" + s + "\"id-9\"" + s + "}" + s;
    EXPECT_EQ(decode_control_line(line), ControlLine{SelectLine{"id-9"}}) << line;
  }
}

TEST(ControlLineBytes, OtherSpaceIsNoJsonWhitespace) {
  using namespace std::string_view_literals;
  for (std::string_view space : {"\v"sv, "\f"sv, "\xc2\xa0"sv, "\0"sv}) {
    const std::string line = "{" + std::string(space) + R"("ktstats_open":"a"})";
    EXPECT_EQ(decode_control_line(line), std::nullopt);
  }
}

TEST(ControlLineBytes, TheLongestIdIsTaken) {
  const std::string id(kMaxNonceBytes, 'Z');
  EXPECT_EQ(decode_control_line(R"({"ktstats_close":")" + id + R"("})"), ControlLine{CloseLine{id}});
}

TEST(ControlLineBytes, AnythingButTheOneShapeIsRejected) {
  for (std::string_view line : {
           "",
           " ",
           "{}",
           R"({"ktstats_open"})",
           R"({"ktstats_open":})",
           R"({"ktstats_open":"a",})",
           R"({"ktstats_open":"a"}})",
           R"({"ktstats_open":"a"} x)",
           R"({"ktstats_open":"a"}{"ktstats_open":"a"})",
           R"({"ktstats_open":"a","ktstats_open":"a"})",
           R"({"ktstats_open":"a","ktstats_open":"b"})",
           R"({"ktstats_open":["a"]})",
           R"({"ktstats_open":{"a":"b"}})",
           R"({"ktstats_open":null})",
           R"({"ktstats_open" "a"})",
           R"({"ktstats_open"::"a"})",
           R"({ktstats_open:"a"})",
           R"({'ktstats_open':'a'})",
           R"("ktstats_open":"a")",
           R"({"ktstats_open":"a)",
           R"({"ktstats_open":"a"   )",
           R"({"ktstats_open)",
           R"({"KTSTATS_OPEN":"a"})",
           R"({"ktstats_opens":"a"})",
           R"({"ktstats_":"a"})",
           R"({" ktstats_open":"a"})",
           R"({"ktstats_open ":"a"})",
           R"({"ktstats_open":" a"})",
           R"({"ktstats_open":"a/b"})",
           R"({"ktstats_\u006fpen":"a"})",
           R"({"ktstats_open":"\u0061"})",
           R"({"ktstats_open":"a\"})",
           R"({"ktstats_open":"a\\"})",
           "{\"ktstats_open\":\"a\tb\"}",
           "{\"ktstats_open\":\"\xc3\xa9\"}",
       }) {
    EXPECT_EQ(decode_control_line(line), std::nullopt) << line;
  }
}

TEST(ControlLineBytes, WhatIsTakenBoostJsonReadsAsTheSameOneMember) {
  for (std::string_view line : {
           R"({"ktstats_open":"a"})",
           " \t{\r\n\"ktstats_sync\"\t:\n\"n_1\"\r}\n ",
           R"({"ktstats_close" : "Z-9"})",
       }) {
    const auto control = decode_control_line(line);
    ASSERT_TRUE(control.has_value()) << line;
    auto parsed = parse_json_line(line);
    ASSERT_TRUE(parsed.ok()) << line;
    const auto& object = parsed->as_object();
    ASSERT_EQ(object.size(), 1u);
    EXPECT_EQ(encode_control_line(*control),
              boost::json::serialize(object)) << line;
  }
}

}  // namespace
}  // namespace ktstats
