#include "ktstats/relay_line.hpp"

#include <gtest/gtest.h>

#include "ktstats/json_line.hpp"

namespace ktstats {
namespace {

TEST(RelayError, WireBytesKeepKtstrsKeyFirstThenTheKind) {
  EXPECT_EQ(encode_relay_error(RelayErrorKind::kNoScheduler, "no scheduler socket"),
            R"({"ktstr_relay_error":"no scheduler socket","kind":"no_scheduler"})");
  EXPECT_EQ(encode_relay_error(RelayErrorKind::kTimeout, "a \"quoted\"\nreason"),
            R"({"ktstr_relay_error":"a \"quoted\"\nreason","kind":"timeout"})");
}

TEST(RelayError, EveryKindRoundTrips) {
  for (auto kind : {RelayErrorKind::kNoScheduler, RelayErrorKind::kTimeout,
                    RelayErrorKind::kOversize, RelayErrorKind::kClosed, RelayErrorKind::kQueueFull,
                    RelayErrorKind::kRequestTooLarge, RelayErrorKind::kNoSession,
                    RelayErrorKind::kSessionLimit}) {
    auto line = decode_relay_error(*parse_json_line(encode_relay_error(kind, "why")));
    ASSERT_TRUE(line.has_value());
    EXPECT_EQ(line->reason, "why");
    EXPECT_EQ(line->kind, kind) << relay_error_kind_name(kind);
  }
}

TEST(RelayError, MissingOrUnknownKindIsNoKind) {
  auto decode = [](std::string_view line) { return decode_relay_error(*parse_json_line(line)); };
  EXPECT_EQ(decode(R"({"ktstr_relay_error":"response cap overflow"})")->kind, std::nullopt);
  EXPECT_EQ(decode(R"({"ktstr_relay_error":"x","kind":"meteor"})")->kind, std::nullopt);
  EXPECT_EQ(decode(R"({"ktstr_relay_error":"x","kind":7})")->kind, std::nullopt);
  EXPECT_EQ(decode(R"({"ktstr_relay_error":"x","kind":"timeout"})")->reason, "x");
}

TEST(RelayError, RecognisedOnlyWithAStringReason) {
  auto reason = [](std::string_view line) { return relay_error_reason(*parse_json_line(line)); };
  EXPECT_EQ(reason(R"({"ktstr_relay_error":"response cap overflow"})"), "response cap overflow");
  EXPECT_EQ(reason(encode_relay_error(RelayErrorKind::kClosed, "x")), "x");
  EXPECT_EQ(reason(R"({"ktstr_relay_error":1})"), std::nullopt);
  EXPECT_EQ(reason(R"({"errno":0,"args":{"resp":{}}})"), std::nullopt);
  EXPECT_EQ(reason(R"(["ktstr_relay_error"])"), std::nullopt);
}

TEST(Sync, RequestWireAndRoundTrip) {
  EXPECT_EQ(encode_sync_request("abc-123_Z"), R"({"ktstats_sync":"abc-123_Z"})");
  EXPECT_EQ(decode_sync_request(R"({"ktstats_sync":"abc-123_Z"})"), "abc-123_Z");
  EXPECT_EQ(decode_sync_request(R"( {"ktstats_sync" : "n1"} )"), "n1");
}

TEST(Sync, RequestRejectsAnythingElse) {
  EXPECT_EQ(decode_sync_request(R"({"req":"stats"})"), std::nullopt);
  EXPECT_EQ(decode_sync_request(R"({"ktstats_sync":""})"), std::nullopt);
  EXPECT_EQ(decode_sync_request(R"({"ktstats_sync":"has space"})"), std::nullopt);
  EXPECT_EQ(decode_sync_request(R"({"ktstats_sync":1})"), std::nullopt);
  EXPECT_EQ(decode_sync_request(R"({"ktstats_sync":"n","req":"stats"})"), std::nullopt);
  EXPECT_EQ(decode_sync_request("{\"ktstats_sync\":\"" + std::string(65, 'a') + "\"}"),
            std::nullopt);
  EXPECT_EQ(decode_sync_request(R"({"ktstats_sync":"n")"), std::nullopt);
  // A reply is not a request: a relay must not answer its own echo.
  EXPECT_EQ(decode_sync_request(encode_sync_reply({"n", "1.0"})), std::nullopt);
}

TEST(Sync, ReplyWireAndRoundTrip) {
  const SyncReply reply{"n42", "0.1.0"};
  EXPECT_EQ(encode_sync_reply(reply), R"({"ktstats_sync":"n42","relay":"ktstats-relay","version":"0.1.0"})");
  EXPECT_EQ(decode_sync_reply(encode_sync_reply(reply)), reply);
  EXPECT_EQ(decode_sync_reply(R"({"ktstats_sync":"n42"})"), std::nullopt);
  EXPECT_EQ(decode_sync_reply(R"({"errno":0,"args":{"resp":"ktstats_sync"}})"), std::nullopt);
}

TEST(Nonce, Validity) {
  EXPECT_TRUE(is_valid_nonce("a"));
  EXPECT_TRUE(is_valid_nonce(std::string(64, 'z')));
  EXPECT_FALSE(is_valid_nonce(std::string(65, 'z')));
  EXPECT_FALSE(is_valid_nonce(""));
  EXPECT_FALSE(is_valid_nonce("a\"b"));
  EXPECT_FALSE(is_valid_nonce("\xc3\xa9"));
}

TEST(ControlLine, EachKindRoundTripsThroughItsWireBytes) {
  EXPECT_EQ(encode_control_line(OpenLine{"s1"}), R"({"ktstats_open":"s1"})");
  EXPECT_EQ(encode_control_line(SelectLine{"s1"}), R"({"ktstats_select":"s1"})");
  EXPECT_EQ(encode_control_line(CloseLine{"s1"}), R"({"ktstats_close":"s1"})");
  EXPECT_EQ(encode_control_line(SyncLine{"n"}), R"({"ktstats_sync":"n"})");
  for (const ControlLine& line :
       {ControlLine{OpenLine{"a-b_9"}}, ControlLine{SelectLine{"x"}}, ControlLine{CloseLine{"y"}},
        ControlLine{SyncLine{"z"}}}) {
    EXPECT_EQ(decode_control_line(encode_control_line(line)), line);
  }
}

TEST(ControlLine, JsonWhitespaceAroundTheMemberIsAllowed) {
  EXPECT_EQ(decode_control_line(" {\t\"ktstats_open\" : \"a\" } "), ControlLine{OpenLine{"a"}});
  EXPECT_EQ(decode_control_line("{\r\n\"ktstats_close\":\"a\"}"), ControlLine{CloseLine{"a"}});
}

TEST(ControlLine, AnythingElseIsNoControlLineAndGoesToTheScheduler) {
  for (std::string_view line : {
           R"({"req":"stats","args":{}})",
           R"({"ktstats_open":"has space"})",
           R"({"ktstats_open":""})",
           R"({"ktstats_open":1})",
           R"({"ktstats_open":"a","req":"stats"})",
           R"({"req":"stats","ktstats_open":"a"})",
           R"({"\u006btstats_open":"a"})",
           R"({"ktstats_other":"a"})",
           R"(["ktstats_open","a"])",
           R"({"ktstats_open":"a")",
       }) {
    EXPECT_EQ(decode_control_line(line), std::nullopt) << line;
  }
  EXPECT_EQ(decode_control_line(R"({"ktstats_open":")" + std::string(65, 'a') + R"("})"),
            std::nullopt);
}

TEST(OpenReply, RoundTripsAndSaysTheRelaysLimits) {
  const OpenReply reply{"s1", "1.2.3", 64};
  EXPECT_EQ(encode_open_reply(reply),
            R"({"ktstats_open":"s1","relay":"ktstats-relay","version":"1.2.3","max_sessions":64})");
  EXPECT_EQ(decode_open_reply(encode_open_reply(reply)), reply);
  // An open line forwarded by a relay that does not know sessions is no reply.
  EXPECT_EQ(decode_open_reply(R"({"ktstats_open":"s1"})"), std::nullopt);
}

TEST(CloseReply, IsTheCloseLineEchoed) {
  EXPECT_EQ(decode_close_reply(encode_close_reply("s1")), "s1");
  EXPECT_EQ(decode_close_reply(R"({"ktstats_open":"s1"})"), std::nullopt);
}

}  // namespace
}  // namespace ktstats
