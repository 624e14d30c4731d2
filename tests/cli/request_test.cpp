#include "wire/request.hpp"

#include <gtest/gtest.h>

namespace ktstats {
namespace {

std::string encoded(const Request& request) {
  auto line = encode_request(request);
  EXPECT_TRUE(line.ok()) << describe(line.error());
  return line.ok() ? *line : std::string();
}

template <class E>
const E& error_as(const Result<Request>& result) {
  EXPECT_FALSE(result.ok());
  const auto* e = std::get_if<E>(&result.error());
  if (e == nullptr) ADD_FAILURE() << "unexpected error: " << describe(result.error());
  static const E fallback{};
  return e ? *e : fallback;
}

TEST(EncodeRequest, BareVerbOmitsArgs) {
  EXPECT_EQ(encoded({"stats", {}}), R"({"req":"stats"})");
  EXPECT_EQ(encoded({"stats_meta", {}}), R"({"req":"stats_meta"})");
}

TEST(EncodeRequest, SingleArgMatchesUpstreamBytes) {
  EXPECT_EQ(encoded({"stats", {{"target", "top"}}}), R"({"req":"stats","args":{"target":"top"}})");
}

TEST(EncodeRequest, ArgsInByteOrderWhateverTheInsertionOrder) {
  Request request{"stats", {}};
  request.args["zeta"] = "1";
  request.args["Alpha"] = "2";
  request.args["target"] = "llc";
  request.args["alpha"] = "3";
  EXPECT_EQ(encoded(request),
            R"({"req":"stats","args":{"Alpha":"2","alpha":"3","target":"llc","zeta":"1"}})");
}

TEST(EncodeRequest, EscapesLikeSerdeJson) {
  // serde_json: short escapes for \b \f \n \r \t, \u00XX lowercase for the
  // other control characters, '/' and non-ASCII left as they are.
  EXPECT_EQ(encoded({"x", {{"k", "a\"b\\c\b\f\n\r\t\x01\x1f/\xc3\xa9\x7f"}}}),
            "{\"req\":\"x\",\"args\":{\"k\":\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f/\xc3\xa9\x7f\"}}");
}

TEST(EncodeRequest, RejectsInvalidUtf8) {
  auto line = encode_request({"stats", {{"target", "\xff"}}});
  ASSERT_FALSE(line.ok());
  EXPECT_TRUE(std::holds_alternative<Protocol>(line.error()));
}

TEST(EncodeRequest, OversizeRequestRejectedWithSizeAndCap) {
  // The cap counts the newline, so a line exactly at the cap is one too many.
  const std::string value(kMaxLineBytes, 'x');
  auto line = encode_request({"stats", {{"target", value}}});
  ASSERT_FALSE(line.ok());
  const auto* e = std::get_if<RequestTooLarge>(&line.error());
  ASSERT_NE(e, nullptr) << describe(line.error());
  EXPECT_EQ(e->max, kMaxLineBytes);
  EXPECT_EQ(e->size, value.size() + std::string(R"({"req":"stats","args":{"target":""}})").size() + 1);
}

TEST(EncodeRequest, LineOneByteUnderTheCapIsAccepted) {
  const std::size_t overhead = std::string(R"({"req":""})").size() + 1;
  EXPECT_TRUE(encode_request({std::string(kMaxLineBytes - overhead, 'v'), {}}).ok());
  EXPECT_FALSE(encode_request({std::string(kMaxLineBytes - overhead + 1, 'v'), {}}).ok());
}

TEST(DecodeRequest, RoundTripsEncodedRequests) {
  for (const Request& request : {Request{"stats", {}}, Request{"stats", {{"target", "top"}}},
                                 Request{"custom", {{"a", "1"}, {"b", "\n\"x"}}}}) {
    auto decoded = decode_request(encoded(request));
    ASSERT_TRUE(decoded.ok()) << describe(decoded.error());
    EXPECT_EQ(*decoded, request);
  }
}

TEST(DecodeRequest, AcceptsMissingArgsAndWhitespace) {
  auto decoded = decode_request(R"(  { "req" : "stats_meta" } )");
  ASSERT_TRUE(decoded.ok()) << describe(decoded.error());
  EXPECT_EQ(decoded->req, "stats_meta");
  EXPECT_TRUE(decoded->args.empty());
}

TEST(DecodeRequest, RejectsBadShapes) {
  EXPECT_NE(error_as<Protocol>(decode_request(R"({"args":{}})")).what.find("no \"req\""),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_request(R"({"req":5})")).what.find("\"req\" is not a string"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_request(R"({"req":"stats","args":[]})"))
                .what.find("\"args\" is not an object"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_request(R"({"req":"stats","args":{"target":1}})"))
                .what.find("argument 'target' is not a string"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_request(R"(["req","stats"])")).what.find("not a JSON object"),
            std::string::npos);
  EXPECT_NE(error_as<Protocol>(decode_request("stats")).what.find("invalid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace ktstats
