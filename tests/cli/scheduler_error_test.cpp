// A scheduler's refusal as people read it: the lines of its text kept and
// indented under the first, still escaped, and the hint to check --target
// and --arg only where the user chose them: decided from what was asked,
// never from the scheduler's words.
#include <gtest/gtest.h>

#include <cerrno>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "cli/exit_status.hpp"

namespace ktstats::cli {
namespace {

const Endpoint kDirect{Endpoint::Kind::kScx, "/run/s", "scx:/run/s"};

// What upstream's server answers for an unknown target, with errno 22.
const std::string kUnknownTarget =
    "Invalid argument (os error 22)\n\nCaused by:\n    unknown stat target StatsRequest { req: "
    "\"stats\", args: {\"target\": \"nope\"} }";

SchedulerError refusal(const std::string& resp, Asked asked = {}) {
  boost::json::object args;
  args["resp"] = resp;
  return SchedulerError{22, resp, {boost::json::serialize(args)}, std::move(asked)};
}

bool has_raw_control_other_than_newline(const std::string& text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n') || c == 0x7F) return true;
  }
  return text.find("\xc2\x9b") != std::string::npos;  // C1 CSI
}

TEST(SchedulerErrorText, LinesAreShownAsLinesIndentedUnderTheFirst) {
  EXPECT_EQ(error_line(refusal(kUnknownTarget, {"stats", {{"target", "nope"}}}), kDirect),
            "ktstats: scheduler returned EINVAL (Invalid argument): Invalid argument (os error 22)\n"
            "\n"
            "  Caused by:\n"
            "      unknown stat target StatsRequest { req: \"stats\", args: {\"target\": \"nope\"} }\n"
            "  (check --target and --arg)");
}

TEST(SchedulerErrorText, ControlCharactersStayEscapedOnEveryLine) {
  const auto text = describe(refusal("first\x1b[2J\nsecond\r\x07\n\tthird\xc2\x9b"));
  EXPECT_EQ(text,
            "scheduler returned EINVAL (Invalid argument): first\\x1b[2J\n"
            "  second\\r\\x07\n"
            "  \\tthird\\u009b");
  EXPECT_FALSE(has_raw_control_other_than_newline(text));
}

TEST(SchedulerErrorText, OneLineStaysOneLineAndAFinalNewlineAddsNone) {
  EXPECT_EQ(describe(refusal("Device or resource busy (os error 16)\n")),
            "scheduler returned EINVAL (Invalid argument): Device or resource busy (os error 16)");
}

TEST(SchedulerErrorText, ManyLinesOrLongOnesAreCut) {
  std::string many;
  for (int i = 0; i < 100; ++i) many += "line " + std::to_string(i) + "\n";
  const auto lines = describe(refusal(many));
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 16);
  EXPECT_EQ(lines.substr(lines.size() - 6), "\n  ...");

  const auto long_line = describe(refusal(std::string(5000, 'x') + "\nnext"));
  EXPECT_LT(long_line.size(), 1100u);
  EXPECT_EQ(long_line.find('\n'), std::string::npos);
  EXPECT_EQ(long_line.substr(long_line.size() - 3), "...");
}

TEST(SchedulerErrorHint, OnlyWhereTheUserChoseATargetOrArgs) {
  const std::string busy = "Device or resource busy (os error 16)";
  const std::string plain = "ktstats: scheduler returned EINVAL (Invalid argument): " + busy;
  EXPECT_EQ(error_line(refusal(busy, {"stats", {{"target", "busy"}}}), kDirect),
            plain + " (check --target and --arg)");
  EXPECT_EQ(error_line(refusal(busy, {"stats", {{"mode", "x"}}}), kDirect),
            plain + " (check --target and --arg)");
  // The scheduler failed on a request that named nothing, or on its schema,
  // or on what raw sent as given: checking options would not help.
  EXPECT_EQ(error_line(refusal(busy, {"stats", {}}), kDirect), plain);
  EXPECT_EQ(error_line(refusal(busy, {"stats_meta", {}}), kDirect), plain);
  EXPECT_EQ(error_line(refusal(busy), kDirect), plain);
}

TEST(SchedulerErrorHint, NeverFromTheSchedulersWords) {
  EXPECT_EQ(error_line(refusal(kUnknownTarget, {"stats", {}}), kDirect).find("(check"),
            std::string::npos);
}

TEST(SchedulerErrorStatus, Is65UnlessTheErrnoSaysTryAgain) {
  EXPECT_EQ(exit_status(refusal(kUnknownTarget)), 65);
  EXPECT_EQ(exit_status(SchedulerError{ENOENT, std::nullopt, {"{}"}}), 65);
  EXPECT_EQ(exit_status(SchedulerError{EPERM, std::nullopt, {"{}"}}), 65);
}

// ktstats serve's answers while its VM is unreachable, slow or busy.
TEST(SchedulerErrorStatus, AnErrnoSayingTryAgainGetsTheStatusOfItsFault) {
  for (int unreachable : {ENOTCONN, ECONNREFUSED, ECONNRESET, EHOSTUNREACH}) {
    EXPECT_EQ(exit_status(SchedulerError{unreachable, std::nullopt, {"{}"}}), 69) << unreachable;
  }
  for (int passing : {ETIMEDOUT, EAGAIN, EBUSY, EUSERS}) {
    EXPECT_EQ(exit_status(SchedulerError{passing, std::nullopt, {"{}"}}), 75) << passing;
  }
}

}  // namespace
}  // namespace ktstats::cli
