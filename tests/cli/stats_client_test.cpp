// The host's session logic against a peer played by the test over a
// socketpair: caps, stale bytes, sync, errors, timeouts and Ctrl-C.
#include "client/stats_client.hpp"

#include <sysexits.h>

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "cli/exit_status.hpp"
#include "ktstats/relay_line.hpp"
#include "wire/response.hpp"
#include "line_peer.hpp"

namespace ktstats::cli {
namespace {

using namespace std::chrono_literals;

class StatsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { interrupt_ = new Interrupt(std::move(*Interrupt::install())); }

  std::unique_ptr<StatsClient> client(bool relay) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
    peer_.emplace(UniqueFd(pair[1]));
    auto channel = std::make_unique<SingleFdChannel>(UniqueFd(pair[0]), "test peer");
    Endpoint endpoint{relay ? Endpoint::Kind::kUnix : Endpoint::Kind::kScx, "p", "test"};
    return StatsClient::over(std::move(channel), endpoint, true, *interrupt_);
  }

  test::LinePeer& peer() { return *peer_; }

  static Interrupt* interrupt_;
  std::optional<test::LinePeer> peer_;
};

Interrupt* StatsClientTest::interrupt_ = nullptr;

template <class E, class T>
const E* error_as(const Result<T>& result) {
  if (result.ok()) return nullptr;
  return std::get_if<E>(&result.error());
}

TEST_F(StatsClientTest, ReturnsTheFirstLine) {
  auto c = client(false);
  ASSERT_TRUE(peer().write("hello\nworld\n"));
  // The peer answered ahead of time: those bytes are stale and dropped.
  std::thread answer([this] {
    auto request = peer().read_line();
    EXPECT_EQ(request, "x");
    peer().write("fresh\nextra\n");
  });
  auto line = c->exchange("x", Deadline::after(5s));
  answer.join();
  ASSERT_TRUE(line.ok()) << describe(line.error());
  EXPECT_EQ(*line, "fresh");
  EXPECT_EQ(c->discarded_lines(), 1u);
}

TEST_F(StatsClientTest, OversizeRequestRejectedBeforeAnythingIsSent) {
  auto c = client(false);
  const std::string big(kMaxLineBytes, 'x');
  auto line = c->exchange(big, Deadline::after(5s));
  const auto* e = error_as<RequestTooLarge>(line);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size, kMaxLineBytes + 1);
  EXPECT_EQ(e->max, kMaxLineBytes);
  EXPECT_FALSE(peer().read_line(50ms).has_value()) << "nothing reaches the peer";
}

TEST_F(StatsClientTest, OversizeResponseIsResponseTooLarge) {
  auto c = client(false);
  std::thread flood([this] {
    peer().read_line();
    peer().write(std::string(kMaxLineBytes + 10, 'A'));
  });
  auto line = c->exchange("x", Deadline::after(5s));
  flood.join();
  const auto* e = error_as<ResponseTooLarge>(line);
  ASSERT_NE(e, nullptr) << (line.ok() ? "ok" : describe(line.error()));
  EXPECT_GT(e->size, kMaxLineBytes);
  EXPECT_EQ(e->max, kMaxLineBytes);
}

TEST_F(StatsClientTest, RelayErrorLineIsNoScheduler) {
  auto c = client(false);
  std::thread reply([this] {
    peer().read_line();
    peer().send_line(encode_relay_error(RelayErrorKind::kNoScheduler, "no scheduler running"));
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  reply.join();
  const auto* e = error_as<NoScheduler>(payload);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->reason, "no scheduler running");
}

TEST_F(StatsClientTest, SyncDropsEverythingBeforeTheEcho) {
  auto c = client(true);
  std::thread relay([this] {
    auto sync = peer().read_line();
    ASSERT_TRUE(sync.has_value());
    auto nonce = decode_sync_request(*sync);
    ASSERT_TRUE(nonce.has_value()) << *sync;
    // A stale answer and a foreign echo come first, then ours.
    peer().send_line(R"({"errno":0,"args":{"resp":"stale"}})");
    peer().send_line(encode_sync_reply({"someone-else", "1"}));
    peer().send_line(encode_sync_reply({*nonce, "9.9"}));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_EQ(payload->as_string(), "fresh");
  EXPECT_EQ(c->discarded_lines(), 2u);
}

TEST_F(StatsClientTest, SilentPeerTimesOutWithWhatItWaitedFor) {
  auto c = client(true);
  auto line = c->exchange("x", Deadline::after(100ms));
  const auto* e = error_as<Timeout>(line);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->after, 100ms);
  EXPECT_EQ(e->awaited, Awaited::kSyncEcho);
}

TEST_F(StatsClientTest, PeerClosingIsATransportError) {
  auto c = client(false);
  std::thread close([this] {
    peer().read_line();
    peer().write("partial");
    peer().close();
  });
  auto line = c->exchange("x", Deadline::after(5s));
  close.join();
  const auto* e = error_as<Transport>(line);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->what, "test peer closed the connection while waiting for the answer");
}

TEST_F(StatsClientTest, InterruptCancelsABlockedRequest) {
  auto c = client(false);
  std::thread interrupter([this] {
    peer().read_line();  // the request is in flight
    ::kill(::getpid(), SIGINT);
  });
  auto line = c->exchange("x", Deadline::after(10s));
  interrupter.join();
  EXPECT_NE(error_as<Cancelled>(line), nullptr);
  // Consume the signal so later tests start clean.
  signalfd_siginfo info;
  EXPECT_EQ(::read(interrupt_->fd(), &info, sizeof info), static_cast<ssize_t>(sizeof info));
}

}  // namespace
}  // namespace ktstats::cli

namespace ktstats::cli {
namespace {

TEST_F(StatsClientTest, SyncIsSentAgainWhenItsEchoIsLost) {
  auto c = client(true);
  std::thread relay([this] {
    auto first = peer().read_line();  // lost: never answered
    ASSERT_TRUE(first.has_value());
    auto again = peer().read_line(3s);
    ASSERT_EQ(again, first) << "the same sync line, sent again";
    auto nonce = decode_sync_request(*again);
    ASSERT_TRUE(nonce.has_value());
    // Both echoes come back; only the answer may be taken as the answer.
    peer().send_line(encode_sync_reply({*nonce, "1"}));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    peer().send_line(encode_sync_reply({*nonce, "1"}));
    peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_EQ(payload->as_string(), "fresh");
}

}  // namespace
}  // namespace ktstats::cli

namespace ktstats::cli {
namespace {

TEST_F(StatsClientTest, BlankLinesBeforeTheAnswerAreSkipped) {
  auto c = client(false);
  std::thread reply([this] {
    EXPECT_EQ(peer().read_line(), "x");
    peer().write("\n \r\n\t\nanswer\n");
  });
  auto line = c->exchange("x", Deadline::after(5s));
  reply.join();
  ASSERT_TRUE(line.ok()) << describe(line.error());
  EXPECT_EQ(*line, "answer");
}

// A fault the relay reports exits like the same fault on a direct
// connection, with a hint about its cause; a line of no known kind (ktstr's
// relay, an older ktstats-relay) stays "no scheduler".
TEST(RelayErrorKinds, ExitLikeTheSameFaultOnADirectConnection) {
  const Endpoint relay{Endpoint::Kind::kUnix, "/run/vm.sock", "unix:/run/vm.sock"};
  struct Case {
    std::string line;
    int status;
    const char* message;
    const char* hint;
  };
  const Case cases[] = {
      {encode_relay_error(RelayErrorKind::kNoScheduler, "no scheduler socket at /s"), EX_UNAVAILABLE,
       "no scheduler answered: no scheduler socket at /s", "start the scheduler in the guest"},
      {encode_relay_error(RelayErrorKind::kTimeout, "no response from the scheduler within 10s"),
       EX_TEMPFAIL, "the relay reports: no response from the scheduler within 10s",
       "--response-timeout"},
      {encode_relay_error(RelayErrorKind::kOversize, "response line exceeds 262144 bytes"),
       EX_PROTOCOL, "the relay reports: response line exceeds 262144 bytes", "over the cap"},
      {encode_relay_error(RelayErrorKind::kClosed, "scheduler closed the connection"), EX_IOERR,
       "the relay reports: scheduler closed the connection", "did it exit?"},
      {encode_relay_error(RelayErrorKind::kRequestTooLarge, "request line exceeds 262144 bytes"),
       EX_USAGE, "the relay reports: request line exceeds 262144 bytes", "shorten the request"},
      {encode_relay_error(RelayErrorKind::kQueueFull, "relay queue full (64 requests waiting)"),
       EX_TEMPFAIL, "the relay reports: relay queue full (64 requests waiting)",
       "without waiting for the answers"},
      {R"({"ktstr_relay_error":"response cap overflow"})", EX_UNAVAILABLE,
       "no scheduler answered: response cap overflow", "start the scheduler in the guest"},
  };
  for (const auto& c : cases) {
    auto payload = decode_resp_payload(c.line);
    ASSERT_FALSE(payload.ok()) << c.line;
    EXPECT_EQ(exit_status(payload.error()), c.status) << c.line;
    const auto text = error_line(payload.error(), relay);
    EXPECT_NE(text.find(c.message), std::string::npos) << text;
    EXPECT_NE(text.find(c.hint), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace ktstats::cli
