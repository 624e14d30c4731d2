#include "wire/response.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "ktstats/relay_line.hpp"

namespace ktstats {
namespace {

Response decoded(std::string_view line) {
  auto response = decode_response(line);
  EXPECT_TRUE(response.ok()) << describe(response.error());
  return response.ok() ? std::move(*response) : Response{};
}

template <class E, class T>
E error_as(const Result<T>& result) {
  if (result.ok()) {
    ADD_FAILURE() << "expected an error";
    return E{};
  }
  const auto* e = std::get_if<E>(&result.error());
  if (e == nullptr) {
    ADD_FAILURE() << "unexpected error: " << describe(result.error());
    return E{};
  }
  return *e;
}

TEST(DecodeResponse, TypedEnvelope) {
  auto response = decoded(R"({"errno":0,"args":{"resp":{"foo":42}}})");
  EXPECT_EQ(response.errno_value, 0);
  EXPECT_EQ(response.args.at("resp").at("foo").as_int64(), 42);
}

TEST(DecodeResponse, DefaultsErrnoToZeroAndArgsToNull) {
  auto response = decoded("{}");
  EXPECT_EQ(response.errno_value, 0);
  EXPECT_TRUE(response.args.is_null());
}

TEST(DecodeResponse, ErrnoMustBeAnIntInRange) {
  EXPECT_NE(error_as<Protocol>(decode_response(R"({"errno":"22","args":{}})")).what.find("not an integer"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_response(R"({"errno":2.5})")).what.find("not an integer"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_response(R"({"errno":4294967296})")).what.find("out of range"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_response(R"({"errno":-2147483649})")).what.find("out of range"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_response(R"({"errno":18446744073709551615})")).what.find("out of range"),
            std::string::npos);
  EXPECT_EQ(decoded(R"({"errno":-2147483648})").errno_value, -2147483648);
  EXPECT_EQ(decoded(R"({"errno":2147483647})").errno_value, 2147483647);
}

TEST(DecodeResponse, NotAnObject) {
  for (const char* line : {"[1,2]", "42", R"("text")", "null", "true"}) {
    EXPECT_NE(error_as<Protocol>(decode_response(line)).what.find("not a JSON object"),
              std::string::npos)
        << line;
  }
}

TEST(DecodeResponse, RelayErrorEnvelopeIsNoScheduler) {
  auto error = error_as<NoScheduler>(decode_response(R"({"ktstr_relay_error":"no scheduler running"})"));
  EXPECT_EQ(error.reason, "no scheduler running");
}

// Each kind is the error the same fault has on a direct connection.
TEST(DecodeResponse, RelayErrorKindsAreTheDirectFaultsTypes) {
  auto decode = [](RelayErrorKind kind) {
    return decode_response(encode_relay_error(kind, "the reason"));
  };
  EXPECT_EQ(error_as<NoScheduler>(decode(RelayErrorKind::kNoScheduler)).reason, "the reason");
  EXPECT_EQ(error_as<Timeout>(decode(RelayErrorKind::kTimeout)).relay_reason, "the reason");
  EXPECT_EQ(error_as<ResponseTooLarge>(decode(RelayErrorKind::kOversize)).relay_reason,
            "the reason");
  const auto closed = error_as<Transport>(decode(RelayErrorKind::kClosed));
  EXPECT_EQ(closed.relay_reason, "the reason");
  EXPECT_EQ(closed.error, 0);
  const auto queue_full = error_as<RelayQueueFull>(decode(RelayErrorKind::kQueueFull));
  EXPECT_EQ(queue_full.reason, "the reason");
  EXPECT_FALSE(queue_full.session_limit);
  const auto session_limit = error_as<RelayQueueFull>(decode(RelayErrorKind::kSessionLimit));
  EXPECT_EQ(session_limit.reason, "the reason");
  EXPECT_TRUE(session_limit.session_limit);
  EXPECT_NE(error_as<Protocol>(decode(RelayErrorKind::kNoSession)).what.find("the reason"),
            std::string::npos);
  EXPECT_EQ(error_as<RequestTooLarge>(decode(RelayErrorKind::kRequestTooLarge)).relay_reason,
            "the reason");
  // ktstr's relay, or a kind from a newer relay: no scheduler, as ktstr means it.
  EXPECT_EQ(error_as<NoScheduler>(decode_response(R"({"ktstr_relay_error":"x","kind":"new"})")).reason,
            "x");
}

TEST(ExtractResp, HappyPath) {
  auto payload = extract_resp({0, boost::json::parse(R"({"resp":{"counter":7}})")});
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_EQ(payload->at("counter").as_int64(), 7);
}

TEST(ExtractResp, NonZeroErrnoIsSchedulerErrorKeepingArgs) {
  auto error = error_as<SchedulerError>(
      extract_resp({22, boost::json::parse(R"({"message":"EINVAL"})")}));
  EXPECT_EQ(error.errno_value, 22);
  EXPECT_EQ(error.args.text, R"({"message":"EINVAL"})");
  EXPECT_EQ(error.resp, std::nullopt);
  EXPECT_EQ(describe(error), R"(scheduler returned EINVAL (Invalid argument): {"message":"EINVAL"})");
}

TEST(ExtractResp, UpstreamErrorShapeRendersItsText) {
  // Upstream puts the error's debug text in args.resp as a string.
  auto error = error_as<SchedulerError>(
      decode_resp_payload(R"({"errno":22,"args":{"resp":"Unknown target \"nope\""}})"));
  EXPECT_EQ(error.errno_value, 22);
  EXPECT_EQ(error.resp, R"(Unknown target "nope")");
  EXPECT_EQ(describe(error),
            R"(scheduler returned EINVAL (Invalid argument): Unknown target "nope")");
}

TEST(ExtractResp, MissingRespKeepsArgs) {
  auto error = error_as<MissingResp>(extract_resp({0, boost::json::parse(R"({"other":1})")}));
  EXPECT_EQ(error.args.text, R"({"other":1})");
  EXPECT_TRUE(std::holds_alternative<MissingResp>(
      decode_resp_payload(R"({"errno":0,"args":[1]})").error()));
  EXPECT_TRUE(std::holds_alternative<MissingResp>(decode_resp_payload(R"({"errno":0})").error()));
}

TEST(DecodeRespPayload, NullRespIsAPayload) {
  auto payload = decode_resp_payload(R"({"errno":0,"args":{"resp":null}})");
  ASSERT_TRUE(payload.ok());
  EXPECT_TRUE(payload->is_null());
}

// Scalars and arrays are JSON, but no response envelope.
TEST(DecodeResponse, ScalarsAndArraysAreNotResponses) {
  for (const char* line : {"[1,2,3]", "3.25", R"("a string")"}) {
    auto response = decode_response(line);
    ASSERT_FALSE(response.ok());
    EXPECT_TRUE(std::holds_alternative<Protocol>(response.error())) << line;
  }
}

TEST(DecodeRespPayload, ArgsNotAnObjectIsMissingResp) {
  auto payload = decode_resp_payload(R"({"errno":0,"args":"resp"})");
  ASSERT_FALSE(payload.ok());
  EXPECT_TRUE(std::holds_alternative<MissingResp>(payload.error()));
}

}  // namespace
}  // namespace ktstats
