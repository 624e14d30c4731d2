#include "ktstats/error.hpp"

#include <gtest/gtest.h>


#include "ktstats/errno_text.hpp"

namespace ktstats {
namespace {

using namespace std::chrono_literals;

TEST(Describe, EveryKindHasItsLine) {
  EXPECT_EQ(describe(RequestTooLarge{262145, 262144}),
            "request of 262145 bytes exceeds the 262144-byte cap");
  EXPECT_EQ(describe(ResponseTooLarge{262146, 262144}),
            "response line reached 262146 bytes without a newline (cap 262144); it was discarded");
  EXPECT_EQ(describe(NoScheduler{"no scheduler socket"}), "no scheduler answered: no scheduler socket");
  EXPECT_EQ(describe(SchedulerError{2, "gone", {R"({"resp":"gone"})"}}),
            "scheduler returned ENOENT (No such file or directory): gone");
  EXPECT_EQ(describe(SchedulerError{5, std::nullopt, {R"({"code":1})"}}),
            R"(scheduler returned EIO (Input/output error): {"code":1})");
  EXPECT_EQ(describe(MissingResp{{"[1]"}}),
            "response has no \"resp\" in its args: [1]");
  EXPECT_EQ(describe(Cancelled{}), "request cancelled");
  EXPECT_EQ(describe(Timeout{5s}), "no answer within 5 s");
  EXPECT_EQ(describe(Timeout{250ms, Awaited::kSyncEcho}),
            "no answer within 250 ms (waiting for the relay's sync echo)");
  EXPECT_EQ(describe(Transport{"connect to /run/x.sock", ECONNREFUSED}),
            "connect to /run/x.sock: ECONNREFUSED (Connection refused)");
  EXPECT_EQ(describe(Transport{"peer closed the connection"}), "peer closed the connection");
  EXPECT_EQ(describe(Protocol{"bad"}), "protocol error: bad");
}

TEST(Describe, AFaultTheRelayReportedIsToldInItsWords) {
  EXPECT_EQ(describe(Timeout{0ms, Awaited::kAnswer, "no response from the scheduler within 10s"}),
            "the relay reports: no response from the scheduler within 10s");
  EXPECT_EQ(describe(Transport{"closed", 0, "scheduler closed the connection"}),
            "the relay reports: scheduler closed the connection");
  EXPECT_EQ(describe(ResponseTooLarge{0, 262144, "response line exceeds 262144 bytes"}),
            "the relay reports: response line exceeds 262144 bytes");
  EXPECT_EQ(describe(RequestTooLarge{0, 262144, "request line exceeds 262144 bytes"}),
            "the relay reports: request line exceeds 262144 bytes");
  EXPECT_EQ(describe(RelayQueueFull{"relay queue full (64 requests waiting)"}),
            "the relay reports: relay queue full (64 requests waiting)");
  EXPECT_EQ(describe(Transport{"x", 0, "\x1b[2J"}), "the relay reports: \\x1b[2J");
}

TEST(Describe, PeerTextIsEscapedAndCut) {
  const auto text = describe(NoScheduler{"\x1b]0;owned\x07" + std::string(500, 'a')});
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("\\x1b]0;owned\\x07"), std::string::npos);
  EXPECT_LT(text.size(), 260u);
  EXPECT_EQ(text.substr(text.size() - 3), "...");

  const auto scheduler = describe(SchedulerError{22, std::nullopt, {"\x1b[2J"}});
  EXPECT_EQ(scheduler, "scheduler returned EINVAL (Invalid argument): \\x1b[2J");
}

TEST(ErrnoText, NamesAndFallsBack) {
  EXPECT_EQ(errno_text(EINVAL), "EINVAL (Invalid argument)");
  EXPECT_EQ(errno_text(4242), "errno 4242");
  EXPECT_EQ(errno_text(-1), "errno -1");
}

}  // namespace
}  // namespace ktstats
