// The relay's request pipeline driven directly, no sockets.
#include "core/relay_core.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "ktstats/relay_line.hpp"

namespace ktstats::relay {
namespace {

struct RecordingEffects : RelayEffects {
  std::optional<std::string> connect_failure;
  bool wait = false;
  int connects = 0, closes = 0, timers_started = 0, timers_stopped = 0;
  std::vector<std::string> sent;

  Connect connect_scheduler(bool may_wait) override {
    ++connects;
    if (wait && may_wait) return {Connect::Outcome::kWaiting, {}};
    if (wait) return {Connect::Outcome::kFailed, "no socket yet"};
    if (connect_failure) return {Connect::Outcome::kFailed, *connect_failure};
    return {Connect::Outcome::kConnected, {}};
  }
  void send_to_scheduler(std::string_view line) override { sent.emplace_back(line); }
  void close_scheduler() override { ++closes; }
  void start_response_timer() override { ++timers_started; }
  void stop_response_timer() override { ++timers_stopped; }
};

class RelayCoreTest : public ::testing::Test {
 protected:
  std::vector<std::string> host_lines() {
    std::vector<std::string> lines;
    std::string_view out = core.host_output();
    while (!out.empty()) {
      const auto newline = out.find('\n');
      lines.emplace_back(out.substr(0, newline));
      out.remove_prefix(newline + 1);
    }
    core.host_output_written(core.host_output().size());
    return lines;
  }

  RecordingEffects effects;
  RelayLimits limits{.max_line = 64, .max_queued = 3, .max_queued_bytes = 200,
                     .host_output_high_water = 256};
  RelayCore core{effects, limits, "9.9"};
};

TEST_F(RelayCoreTest, OneAtATimeInOrderWithRelayAnswersQueuedBehind) {
  core.on_host_bytes("A\n{\"ktstats_sync\":\"s\"}\nB\n");
  EXPECT_EQ(effects.sent, std::vector<std::string>{"A"});
  EXPECT_TRUE(host_lines().empty()) << "the sync answer must wait for A's answer";
  core.on_scheduler_bytes("a\n");
  EXPECT_EQ(host_lines(), (std::vector<std::string>{
                              "a", R"({"ktstats_sync":"s","relay":"ktstats-relay","version":"9.9"})"}));
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "B"}));
  core.on_scheduler_bytes("b\n");
  EXPECT_EQ(host_lines(), std::vector<std::string>{"b"});
  EXPECT_TRUE(core.idle());
  EXPECT_EQ(effects.connects, 1);
}

TEST_F(RelayCoreTest, ConnectFailureAnswersAndNextRequestRetries) {
  effects.connect_failure = "no scheduler socket at /x";
  core.on_host_bytes("A\n");
  EXPECT_EQ(host_lines(), std::vector<std::string>{encode_relay_error(RelayErrorKind::kNoScheduler, "no scheduler socket at /x")});
  effects.connect_failure.reset();
  core.on_host_bytes("B\n");
  EXPECT_EQ(effects.connects, 2);
  EXPECT_EQ(effects.sent, std::vector<std::string>{"B"});
}

TEST_F(RelayCoreTest, QueueBoundCountsOnlyTheRequestsWaiting) {
  // A in flight, B, C and D waiting: the bound of 3 is reached by those.
  core.on_host_bytes("A\nB\nC\nD\nE\nF\n");
  EXPECT_EQ(effects.sent, std::vector<std::string>{"A"});
  for (const char* answer : {"a\n", "b\n", "c\n", "d\n"}) core.on_scheduler_bytes(answer);
  const auto full = encode_relay_error(RelayErrorKind::kQueueFull,
                                       "relay queue full (3 requests waiting)");
  EXPECT_EQ(host_lines(), (std::vector<std::string>{"a", "b", "c", "d", full, full}));
  EXPECT_EQ(core.counters().requests, 6u);
  EXPECT_TRUE(core.idle());
}

TEST_F(RelayCoreTest, QueueByteBoundRejects) {
  limits.max_queued = 10;
  RelayCore core{effects, limits, "9.9"};
  const std::string sixty(60, 'x');
  // A in flight; 3 x 60 bytes wait (180 of 200); a fourth would pass 200.
  core.on_host_bytes("A\n" + sixty + "\n" + sixty + "\n" + sixty + "\n" + sixty + "\n");
  for (const char* answer : {"a\n", "b\n", "c\n", "d\n"}) core.on_scheduler_bytes(answer);
  std::vector<std::string> lines;
  for (std::string_view out = core.host_output(); !out.empty();) {
    lines.emplace_back(out.substr(0, out.find('\n')));
    out.remove_prefix(out.find('\n') + 1);
  }
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4], encode_relay_error(RelayErrorKind::kQueueFull,
                                         "relay queue full (requests waiting would hold more "
                                         "than 200 bytes)"));
}

TEST_F(RelayCoreTest, SchedulerCloseFailsInFlightAndQueuedForwardsOnly) {
  core.on_host_bytes("A\nB\n{\"ktstats_sync\":\"s\"}\n");
  core.on_scheduler_closed();
  const auto closed = encode_relay_error(RelayErrorKind::kClosed, "scheduler closed the connection");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], closed);
  EXPECT_EQ(lines[1], closed);
  EXPECT_EQ(decode_sync_reply(lines[2])->nonce, "s");
  EXPECT_EQ(effects.closes, 1);
  core.on_host_bytes("C\n");
  EXPECT_EQ(effects.connects, 2);
}

TEST_F(RelayCoreTest, TimeoutDropsConnectionAndLateBytesAreDiscarded) {
  core.on_host_bytes("A\nB\n");
  core.on_response_timeout("1s");
  EXPECT_EQ(effects.closes, 1);
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "B"}));  // B on a new connection
  EXPECT_EQ(effects.connects, 2);
  core.on_scheduler_bytes("b\n");
  EXPECT_EQ(host_lines(), (std::vector<std::string>{
                              encode_relay_error(RelayErrorKind::kTimeout,
                                                 "no response from the scheduler within 1s"), "b"}));
}

TEST_F(RelayCoreTest, StrayAndOversizeSchedulerLines) {
  core.on_host_bytes("Z\n");
  core.on_scheduler_bytes("z\nnobody asked\n");
  EXPECT_EQ(core.counters().stray_scheduler_lines, 1u);
  EXPECT_EQ(effects.closes, 0) << "the stray line is dropped, the connection kept";
  EXPECT_EQ(host_lines(), std::vector<std::string>{"z"});
  core.on_host_bytes("A\n");
  EXPECT_EQ(effects.connects, 1);
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"Z", "A"}));
  core.on_scheduler_bytes(std::string(100, 'z'));
  EXPECT_EQ(host_lines(), std::vector<std::string>{encode_relay_error(
                              RelayErrorKind::kOversize, "response line exceeds 64 bytes")});
  EXPECT_EQ(effects.closes, 1) << "the rest of a long line may never end: the connection is dropped";
  core.on_host_bytes("B\n");
  EXPECT_EQ(effects.connects, 2);
  core.on_scheduler_bytes("b\n");
  EXPECT_EQ(host_lines(), std::vector<std::string>{"b"});
}

TEST_F(RelayCoreTest, SyncConnectsEarlySoAGreetingOnAcceptIsNoAnswer) {
  core.on_host_bytes("{\"ktstats_sync\":\"s\"}\n");
  EXPECT_EQ(effects.connects, 1);
  core.on_scheduler_bytes("{\"hello\":1}\n");
  EXPECT_EQ(core.counters().stray_scheduler_lines, 1u);
  core.on_host_bytes("A\n");
  EXPECT_EQ(effects.connects, 1) << "the early connection is the session's";
  core.on_scheduler_bytes("a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "s");
  EXPECT_EQ(lines[1], "a");
}

TEST_F(RelayCoreTest, EarlyConnectNeverWaitsNorDelaysTheSyncEcho) {
  effects.wait = true;
  core.on_host_bytes("{\"ktstats_sync\":\"s\"}\n");
  EXPECT_EQ(host_lines().size(), 1u) << "the echo is not held back by an absent scheduler";
  EXPECT_TRUE(core.idle());
  core.on_host_bytes("A\n");
  EXPECT_EQ(effects.connects, 2) << "the request connects (and may wait) on its own";
  EXPECT_FALSE(core.idle());
}

TEST_F(RelayCoreTest, BlankSchedulerLinesAreNeverAnswers) {
  core.on_host_bytes("A\n");
  core.on_scheduler_bytes("\n \r\n\t\n");
  EXPECT_TRUE(host_lines().empty());
  core.on_scheduler_bytes("a\n\n");
  EXPECT_EQ(host_lines(), std::vector<std::string>{"a"});
  EXPECT_EQ(core.counters().stray_scheduler_lines, 0u) << "a blank line is not even stray";
  EXPECT_TRUE(core.idle());
}

TEST_F(RelayCoreTest, LineWithNothingInFlightIsNotTheNextAnswer) {
  core.on_host_bytes("A\n");
  core.on_scheduler_bytes("a\n");
  core.on_scheduler_bytes("{\"unsolicited\":true}\n");
  core.on_host_bytes("B\n");
  core.on_scheduler_bytes("b\n");
  EXPECT_EQ(host_lines(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(core.counters().stray_scheduler_lines, 1u);
}

TEST_F(RelayCoreTest, OversizeRequestAnsweredInPlace) {
  core.on_host_bytes("A\n" + std::string(100, 'r') + "\nB\n");
  core.on_scheduler_bytes("a\n");
  core.on_scheduler_bytes("b\n");
  EXPECT_EQ(host_lines(), (std::vector<std::string>{
                              "a", encode_relay_error(RelayErrorKind::kRequestTooLarge,
                                                        "request line exceeds 64 bytes"), "b"}));
}

TEST_F(RelayCoreTest, HostBackpressureStopsIntake) {
  limits.max_queued = 10;
  RelayCore core{effects, limits, "9.9"};
  auto host_lines = [&core] {
    std::size_t count = 0;
    for (char c : core.host_output()) count += c == '\n';
    core.host_output_written(core.host_output().size());
    return std::vector<std::string>(count);
  };
  core.on_host_bytes("A\nB\n");
  core.on_scheduler_bytes(std::string(60, 'a') + "\n");
  core.on_scheduler_bytes(std::string(60, 'b') + "\n");
  core.on_host_bytes("C\nD\nE\nF\nG\n");
  core.on_scheduler_bytes(std::string(60, 'c') + "\n");
  core.on_scheduler_bytes(std::string(60, 'd') + "\n");
  core.on_scheduler_bytes(std::string(60, 'e') + "\n");
  // 5 answers of 61 bytes are past the 256-byte high water: F waits.
  EXPECT_FALSE(core.wants_host_input());
  EXPECT_EQ(effects.sent.size(), 5u);
  EXPECT_EQ(host_lines().size(), 5u);  // the host reads everything
  EXPECT_EQ(effects.sent.size(), 6u);  // and F goes out
}

TEST_F(RelayCoreTest, RequestsWaitForTheSchedulerInOrder) {
  effects.wait = true;
  core.on_host_bytes("A\n{\"ktstats_sync\":\"s\"}\nB\n");
  EXPECT_TRUE(effects.sent.empty());
  EXPECT_TRUE(host_lines().empty()) << "the sync answer waits behind A";
  core.on_scheduler_connected();
  EXPECT_EQ(effects.sent, std::vector<std::string>{"A"});
  core.on_scheduler_bytes("a\n");
  EXPECT_EQ(host_lines().size(), 2u);
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "B"}));
}

TEST_F(RelayCoreTest, SchedulerThatNeverAppearsFailsOneRequestAtATime) {
  effects.wait = true;
  core.on_host_bytes("A\nB\n");
  core.on_scheduler_unavailable("no scheduler socket at /x (waited 1s)");
  EXPECT_EQ(host_lines(),
            std::vector<std::string>{encode_relay_error(RelayErrorKind::kNoScheduler,
                                               "no scheduler socket at /x (waited 1s)")});
  EXPECT_EQ(effects.connects, 2) << "B waits afresh";
  core.end_session();
  EXPECT_EQ(effects.closes, 1) << "the wait is cancelled with the session";
  EXPECT_TRUE(core.idle());
}

TEST_F(RelayCoreTest, EndSessionDropsEverything) {
  core.on_host_bytes("A\nB\npartial");
  core.end_session();
  EXPECT_TRUE(core.idle());
  EXPECT_EQ(effects.closes, 1);
  EXPECT_EQ(effects.timers_stopped, 1);
  core.on_host_bytes("C\n");
  EXPECT_EQ(effects.sent.back(), "C");
}


// A virtio port may never show the relay that a host left, when the next
// host attaches before the relay runs: the next host's sync line, with a
// nonce of its own, is then all that tells the sessions apart.
TEST_F(RelayCoreTest, SyncWithANewNonceStartsANewSessionWithoutAnEof) {
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nA\n");
  core.on_scheduler_bytes("a\n");
  EXPECT_EQ(host_lines().size(), 2u);
  EXPECT_EQ(effects.connects, 1);
  core.on_host_bytes("{\"ktstats_sync\":\"n2\"}\nB\n");
  EXPECT_EQ(effects.closes, 1) << "the old session's scheduler connection is closed";
  EXPECT_EQ(effects.connects, 2) << "and the new session's opened at its sync line";
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "B"}));
  core.on_scheduler_bytes("b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "n2");
  EXPECT_EQ(lines[1], "b");
  EXPECT_EQ(core.counters().sessions_replaced_at_sync, 1u);
  EXPECT_TRUE(core.idle());
}

TEST_F(RelayCoreTest, OldSessionsWorkNeverReachesTheNewHost) {
  // A answered but not yet read by the host, C in flight, D waiting.
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nA\nC\nD\n");
  core.on_scheduler_bytes("a\n");
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "C"}));
  const int stopped = effects.timers_stopped;
  core.on_host_bytes("{\"ktstats_sync\":\"n2\"}\nB\n");
  EXPECT_EQ(effects.timers_stopped, stopped + 1) << "C's timer belongs to the old session";
  EXPECT_EQ(effects.closes, 1);
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "C", "B"})) << "D is never sent";
  core.on_scheduler_bytes("b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u) << "the old echo, a, C and D are answered to nobody";
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "n2");
  EXPECT_EQ(lines[1], "b");
  EXPECT_TRUE(core.idle());
}

TEST_F(RelayCoreTest, OldAnswerCutMidLineIsEndedBeforeTheNewEcho) {
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nA\n");
  core.host_output_written(core.host_output().size());
  core.on_scheduler_bytes("a-long-answer\n");
  core.host_output_written(4);
  core.on_host_bytes("{\"ktstats_sync\":\"n2\"}\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "") << "the written part of the old line is ended, the rest dropped";
  EXPECT_EQ(decode_sync_reply(lines[1])->nonce, "n2") << "the echo starts a line of its own";
}

TEST_F(RelayCoreTest, NewSessionCancelsTheOldWaitForTheScheduler) {
  effects.wait = true;
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nA\n");
  EXPECT_EQ(host_lines().size(), 1u);
  EXPECT_FALSE(core.idle()) << "A waits for the socket";
  core.on_host_bytes("{\"ktstats_sync\":\"n2\"}\n");
  EXPECT_EQ(effects.closes, 1) << "the wait is cancelled with the old session";
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 1u) << "the echo does not wait behind the old request";
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "n2");
  core.on_scheduler_connected();  // a late report of the cancelled wait
  EXPECT_TRUE(effects.sent.empty());
  EXPECT_TRUE(core.idle());
}

TEST_F(RelayCoreTest, SameNonceResentIsNoNewSession) {
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nA\n");
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nB\n");
  core.on_scheduler_bytes("a\n");
  core.on_scheduler_bytes("b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(decode_sync_reply(lines[2])->nonce, "n1") << "each sync line is answered";
  EXPECT_EQ(lines[1], "a");
  EXPECT_EQ(lines[3], "b");
  EXPECT_EQ(effects.closes, 0);
  EXPECT_EQ(effects.connects, 1);
  EXPECT_EQ(effects.sent, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(core.counters().sessions_replaced_at_sync, 0u);
}

TEST_F(RelayCoreTest, EndSessionForgetsTheNonce) {
  core.on_host_bytes("{\"ktstats_sync\":\"n1\"}\nA\n");
  core.end_session();
  EXPECT_EQ(effects.closes, 1);
  core.on_host_bytes("{\"ktstats_sync\":\"n2\"}\n");
  EXPECT_EQ(effects.closes, 1) << "the session had already ended";
  EXPECT_EQ(core.counters().sessions_replaced_at_sync, 0u);
  EXPECT_EQ(effects.connects, 2);
}

// ktstats sends its sync line before anything else, so a line before the
// first sync of a session is that session's own.
TEST_F(RelayCoreTest, FirstSyncOfASessionKeepsWhatCameBefore) {
  core.on_host_bytes("A\n{\"ktstats_sync\":\"n1\"}\n");
  core.on_scheduler_bytes("a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "a");
  EXPECT_EQ(effects.closes, 0);
}

}  // namespace
}  // namespace ktstats::relay
