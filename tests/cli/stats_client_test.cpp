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

// The open line's id, if the line is one.
std::optional<std::string> open_id(const std::optional<std::string>& line) {
  if (!line) return std::nullopt;
  auto control = decode_control_line(*line);
  auto* open = control ? std::get_if<OpenLine>(&*control) : nullptr;
  if (open == nullptr) return std::nullopt;
  return open->id;
}

std::string open_echo(const std::string& id) {
  return encode_open_reply({id, "0.2.0", 64});
}

bool is_16_hex(const std::string& id) {
  return id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The relay's part: the open first, stale lines before its echo dropped,
// the request straight after it, the close when the client goes.
TEST_F(StatsClientTest, OpensASessionUsesItAndClosesIt) {
  auto c = client(true);
  std::string id;
  std::thread relay([this, &id] {
    auto opened = open_id(peer().read_line());
    ASSERT_TRUE(opened.has_value());
    id = *opened;
    // A stale answer and another host's echo come first, then ours.
    peer().send_line(R"({"errno":0,"args":{"resp":"stale"}})");
    peer().send_line(open_echo("someone-else"));
    peer().send_line(open_echo(id));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_EQ(payload->as_string(), "fresh");
  EXPECT_EQ(c->discarded_lines(), 2u);
  EXPECT_TRUE(is_16_hex(id)) << id;
  EXPECT_EQ(c->session_id(), id);
  c.reset();
  EXPECT_EQ(peer().read_line(), encode_control_line(CloseLine{id})) << "closed as the client goes";
}

// ping's question: the relay's name, version and session limit.
TEST_F(StatsClientTest, SyncSaysWhatTheRelayIs) {
  auto c = client(true);
  std::thread relay([this] {
    auto id = open_id(peer().read_line());
    ASSERT_TRUE(id.has_value());
    peer().send_line(encode_open_reply({*id, "0.2.0", 7}));
  });
  auto info = c->sync(Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(info.ok()) << describe(info.error());
  EXPECT_EQ(info->relay, "ktstats-relay");
  EXPECT_EQ(info->version, "0.2.0");
  EXPECT_EQ(info->max_sessions, 7u);
}

// A request that timed out here may still be answered: the next exchange
// opens the same session again as a sync point, and the late answer comes
// before that echo.
TEST_F(StatsClientTest, AfterATimeoutTheSameOpenDropsTheLateAnswer) {
  auto c = client(true);
  std::thread relay([this] {
    auto id = open_id(peer().read_line());
    ASSERT_TRUE(id.has_value());
    peer().send_line(open_echo(*id));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    // Not answered until the client has given up and opened again.
    auto again = open_id(peer().read_line());
    ASSERT_EQ(again, id) << "the same open, sent again";
    peer().send_line(R"({"errno":0,"args":{"resp":"late"}})");
    peer().send_line(open_echo(*id));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto first = c->call({"stats", {}}, Deadline::after(200ms));
  ASSERT_NE(error_as<Timeout>(first), nullptr);
  EXPECT_EQ(error_as<Timeout>(first)->awaited, Awaited::kAnswer);
  EXPECT_TRUE(c->resyncs());
  auto second = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(second.ok()) << describe(second.error());
  EXPECT_EQ(second->as_string(), "fresh");
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

TEST_F(StatsClientTest, OpenIsSentAgainWithTheSameIdWhenItsEchoIsLost) {
  auto c = client(true);
  std::thread relay([this] {
    auto first = peer().read_line();  // lost: never answered
    ASSERT_TRUE(open_id(first).has_value()) << first.value_or("(none)");
    auto again = peer().read_line(3s);
    ASSERT_EQ(again, first) << "the same open line, sent again";
    const auto id = *open_id(again);
    // Both echoes come back; only the answer may be taken as the answer.
    peer().send_line(open_echo(id));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    peer().send_line(open_echo(id));
    peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_EQ(payload->as_string(), "fresh");
}

// A relay without sessions (0.1.x) forwards the open line to the scheduler,
// which answers it with an error; and it answers the open sent again too.
// The client falls back to the sync line once, and the answers to the
// opens are dropped before the sync echo.
TEST_F(StatsClientTest, FallsBackToSyncOnceWhenTheRelayDoesNotKnowSessions) {
  auto c = client(true);
  const std::string not_a_request = R"({"errno":22,"args":{"resp":"request has no \"req\""}})";
  std::vector<std::string> sent;
  std::thread relay([&] {
    auto first = peer().read_line();
    auto again = peer().read_line(3s);  // the echo is "slow": the open comes again
    ASSERT_TRUE(open_id(first).has_value());
    ASSERT_EQ(again, first);
    peer().send_line(not_a_request);
    peer().send_line(not_a_request);
    auto sync = peer().read_line();
    ASSERT_TRUE(sync.has_value());
    auto nonce = decode_sync_request(*sync);
    ASSERT_TRUE(nonce.has_value()) << *sync;
    peer().send_line(encode_sync_reply({*nonce, "0.1.0"}));
    for (int i = 0; i < 2; ++i) {
      auto line = peer().read_line();
      ASSERT_TRUE(line.has_value());
      sent.push_back(*line);
      peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
    }
  });
  auto one = c->call({"stats", {}}, Deadline::after(5s));
  auto two = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(one.ok()) << describe(one.error());
  ASSERT_TRUE(two.ok()) << describe(two.error());
  EXPECT_EQ(one->as_string(), "fresh");
  EXPECT_EQ(two->as_string(), "fresh");
  EXPECT_EQ(sent, (std::vector<std::string>{R"({"req":"stats"})", R"({"req":"stats"})"}))
      << "one fallback: no open and no sync before the second request";
  c.reset();
  EXPECT_FALSE(peer().read_line(100ms).has_value()) << "no close line for such a relay";
}

// An error line left by an earlier host may come before our open's echo and
// look like a relay without sessions: the fallback's sync wait sees our
// open's echo instead, and the client opens again.
TEST_F(StatsClientTest, AStaleErrorBeforeTheOpenEchoIsNoFallback) {
  auto c = client(true);
  std::thread relay([this] {
    auto id = open_id(peer().read_line());
    ASSERT_TRUE(id.has_value());
    peer().send_line(encode_relay_error(RelayErrorKind::kTimeout, "an earlier host's"));
    peer().send_line(open_echo(*id));
    auto sync = peer().read_line();
    ASSERT_TRUE(sync.has_value());
    auto nonce = decode_sync_request(*sync);
    ASSERT_TRUE(nonce.has_value()) << *sync;
    peer().send_line(encode_sync_reply({*nonce, "0.2.0"}));
    EXPECT_EQ(open_id(peer().read_line()), id) << "the session selected again";
    peer().send_line(open_echo(*id));
    EXPECT_EQ(peer().read_line(), R"({"req":"stats"})");
    peer().send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_EQ(payload->as_string(), "fresh");
  const std::string id = c->session_id();
  c.reset();
  EXPECT_EQ(peer().read_line(), encode_control_line(CloseLine{id}));
}

// Past the relay's session limit: the error, exit 75 with a hint, and no
// fallback to sync.
TEST_F(StatsClientTest, SessionLimitIsTheErrorNotAFallback) {
  auto c = client(true);
  std::thread relay([this] {
    auto id = open_id(peer().read_line());
    ASSERT_TRUE(id.has_value());
    peer().send_line(encode_relay_error(RelayErrorKind::kSessionLimit, "64 sessions open"));
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  const auto* e = error_as<RelayQueueFull>(payload);
  ASSERT_NE(e, nullptr) << (payload.ok() ? "ok" : describe(payload.error()));
  EXPECT_TRUE(e->session_limit);
  EXPECT_EQ(exit_status(payload.error()), EX_TEMPFAIL);
  EXPECT_EQ(error_line(payload.error(), c->endpoint()),
            "ktstats: the relay reports: 64 sessions open (the relay has as many sessions open "
            "as its --max-sessions allows; close some or raise --max-sessions)");
  const std::string id = c->session_id();
  c.reset();
  // The next line is the close (harmless for an id that is not open), not a sync.
  EXPECT_EQ(peer().read_line(), encode_control_line(CloseLine{id}));
}

// --no-sync: plain scx_stats lines, and nothing else, through a relay too.
TEST_F(StatsClientTest, WithoutSyncOnlyTheRequestGoesOut) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  test::LinePeer relay_side{UniqueFd(pair[1])};
  auto c = StatsClient::over(std::make_unique<SingleFdChannel>(UniqueFd(pair[0]), "test peer"),
                             {Endpoint::Kind::kUnix, "p", "test"}, false, *interrupt_);
  std::thread relay([&relay_side] {
    EXPECT_EQ(relay_side.read_line(), R"({"req":"stats"})");
    relay_side.send_line(R"({"errno":0,"args":{"resp":"fresh"}})");
  });
  auto payload = c->call({"stats", {}}, Deadline::after(5s));
  relay.join();
  ASSERT_TRUE(payload.ok()) << describe(payload.error());
  EXPECT_FALSE(c->resyncs());
  c.reset();
  EXPECT_FALSE(relay_side.read_line(100ms).has_value()) << "no close line";
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
