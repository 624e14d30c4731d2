// The relay's protocol driven directly, no sockets: host bytes, link events
// and the time in, host bytes, link bytes and link commands out.
#include "core/relay_core.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ktstats/relay_line.hpp"

namespace ktstats::relay {
namespace {

using namespace std::chrono_literals;
using Op = LinkCommand::Op;

std::string open_line(const std::string& id) { return encode_control_line(OpenLine{id}) + "\n"; }
std::string select_line(const std::string& id) {
  return encode_control_line(SelectLine{id}) + "\n";
}
std::string close_line(const std::string& id) { return encode_control_line(CloseLine{id}) + "\n"; }
std::string sync_line(const std::string& nonce) { return encode_sync_request(nonce) + "\n"; }

std::vector<std::string> split_lines(std::string_view out) {
  std::vector<std::string> lines;
  while (!out.empty()) {
    const auto newline = out.find('\n');
    lines.emplace_back(out.substr(0, newline));
    out.remove_prefix(newline == std::string_view::npos ? out.size() : newline + 1);
  }
  return lines;
}

class RelayCoreTest : public ::testing::Test {
 protected:
  // How the stand-in I/O layer answers a connect.
  enum class Scheduler {
    kUp,      // connected at once
    kAbsent,  // kConnect fails; kConnectOrWait waits (no report until the test says)
    kManual,  // no report at all
  };

  void make_core() {
    core = std::make_unique<RelayCore>(limits, timing, "9.9");
    log.clear();
    sent.clear();
  }

  // What the event loop's pump does: carry out the link commands and take
  // every link's output, until nothing more comes.
  void settle() {
    for (bool more = true; more;) {
      more = false;
      for (const LinkCommand& command : core->take_link_commands()) {
        more = true;
        log.push_back(command);
        if (command.op == Op::kClose) continue;
        if (scheduler == Scheduler::kUp) {
          core->on_link_connected(now, command.link);
        } else if (scheduler == Scheduler::kAbsent) {
          if (command.op == Op::kConnectOrWait) {
            core->on_link_waiting(command.link, "no scheduler socket at /x");
          } else {
            core->on_link_failed(now, command.link, "no scheduler socket at /x");
          }
        }
      }
      // Slots of sessions closed but not yet in their close's turn come on
      // top of max_sessions.
      for (LinkId link = 0; link <= limits.max_sessions + limits.max_queued_answers + 1; ++link) {
        if (hold_link_output) break;
        const auto out = core->link_output(link);
        if (out.empty()) continue;
        more = true;
        for (auto& line : split_lines(out)) sent[link].push_back(std::move(line));
        core->link_output_written(link, out.size());
      }
    }
  }

  void host(std::string_view bytes) {
    core->on_host_bytes(now, bytes);
    settle();
  }
  void reply(LinkId link, std::string_view bytes) {
    core->on_link_bytes(now, link, bytes);
    settle();
  }
  void link_closed(LinkId link) {
    core->on_link_closed(now, link);
    settle();
  }
  void advance(std::chrono::milliseconds by) {
    now += by;
    core->on_time(now);
    settle();
  }
  void host_gone() {
    core->on_host_gone();
    settle();
  }

  // Every line for the host, read by it, including what comes of reading
  // (host lines held back while the output was past its high water).
  std::vector<std::string> host_lines() {
    std::vector<std::string> lines;
    while (!core->host_output().empty()) {
      const auto out = core->host_output();
      for (auto& line : split_lines(out)) lines.push_back(std::move(line));
      core->host_output_written(now, out.size());
      settle();
    }
    return lines;
  }

  int count(Op op, LinkId link) const {
    return static_cast<int>(std::count(log.begin(), log.end(), LinkCommand{op, link}));
  }
  int count(Op op) const {
    return static_cast<int>(
        std::count_if(log.begin(), log.end(), [op](const LinkCommand& c) { return c.op == op; }));
  }
  std::vector<std::string> sent_to(LinkId link) { return sent[link]; }
  // The link of the latest kConnect.
  LinkId last_connected() const {
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      if (it->op != Op::kClose) return it->link;
    }
    return ~LinkId{0};
  }

  std::string open_echo(const std::string& id) const {
    return encode_open_reply({id, "9.9", limits.max_sessions});
  }
  static std::string error(RelayErrorKind kind, std::string_view reason) {
    return encode_relay_error(kind, reason);
  }
  static std::optional<RelayErrorKind> kind_of(const std::string& line) {
    const auto value = boost::json::parse(line);
    const auto decoded = decode_relay_error(value);
    if (!decoded) return std::nullopt;
    return decoded->kind;
  }

  RelayLimits limits{.max_line = 64,
                     .max_sessions = 4,
                     .max_queued = 3,
                     .max_queued_bytes = 200,
                     .host_output_high_water = 256,
                     .max_queued_answers = 16};
  RelayTiming timing{.response_timeout = 1s, .scheduler_wait = 0s};
  Clock::time_point now = Clock::time_point{} + 1h;
  Scheduler scheduler = Scheduler::kUp;
  bool hold_link_output = false;  // settle() writes no link output: the scheduler is slow to take it
  std::unique_ptr<RelayCore> core = std::make_unique<RelayCore>(limits, timing, "9.9");
  std::vector<LinkCommand> log;
  std::map<LinkId, std::vector<std::string>> sent;
};

using Lines = std::vector<std::string>;

// ------------------------------------------------ one session, as before sessions

TEST_F(RelayCoreTest, OneAtATimeInOrderWithRelayAnswersQueuedBehind) {
  host("A\n{\"ktstats_sync\":\"s\"}\nB\n");
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"A"});
  EXPECT_TRUE(host_lines().empty()) << "the sync answer must wait for A's answer";
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(host_lines(),
            (Lines{"a", R"({"ktstats_sync":"s","relay":"ktstats-relay","version":"9.9"})"}));
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B"}));
  reply(kImplicitLink, "b\n");
  EXPECT_EQ(host_lines(), Lines{"b"});
  EXPECT_TRUE(core->idle());
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 1);
  EXPECT_EQ(core->counters().requests, 3u);
}

TEST_F(RelayCoreTest, ConnectFailureAnswersAndNextRequestRetries) {
  scheduler = Scheduler::kAbsent;
  host("A\n");
  EXPECT_EQ(host_lines(), Lines{error(RelayErrorKind::kNoScheduler, "no scheduler socket at /x")});
  scheduler = Scheduler::kUp;
  host("B\n");
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 2);
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"B"});
}

TEST_F(RelayCoreTest, QueueBoundCountsOnlyTheRequestsWaiting) {
  // A in flight, B, C and D waiting: the bound of 3 is reached by those.
  host("A\nB\nC\nD\nE\nF\n");
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"A"});
  for (const char* answer : {"a\n", "b\n", "c\n", "d\n"}) reply(kImplicitLink, answer);
  const auto full = error(RelayErrorKind::kQueueFull, "relay queue full (3 requests waiting)");
  EXPECT_EQ(host_lines(), (Lines{"a", "b", "c", "d", full, full}));
  EXPECT_EQ(core->counters().requests, 6u);
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, QueueByteBoundRejects) {
  limits.max_queued = 10;
  make_core();
  const std::string sixty(60, 'x');
  // A in flight; 3 x 60 bytes wait (180 of 200); a fourth would pass 200.
  host("A\n" + sixty + "\n" + sixty + "\n" + sixty + "\n" + sixty + "\n");
  for (const char* answer : {"a\n", "b\n", "c\n", "d\n"}) reply(kImplicitLink, answer);
  const auto lines = split_lines(core->host_output());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4], error(RelayErrorKind::kQueueFull,
                            "relay queue full (requests waiting would hold more than 200 bytes)"));
}

TEST_F(RelayCoreTest, SchedulerCloseFailsTheRequestItHadAndTheNextGoesOverANewConnection) {
  host("A\nB\n{\"ktstats_sync\":\"s\"}\n");
  link_closed(kImplicitLink);
  EXPECT_EQ(count(Op::kClose), 0) << "the I/O layer knows: it reported the close";
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 2) << "B, never sent, connects again";
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B"}));
  reply(kImplicitLink, "b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], error(RelayErrorKind::kClosed, "scheduler closed the connection"));
  EXPECT_EQ(lines[1], "b");
  EXPECT_EQ(decode_sync_reply(lines[2])->nonce, "s");
  EXPECT_EQ(core->counters().requests_resent, 0u);
}

// The scheduler restarted between requests: the relay hears of the close
// only after it has taken the next request for that connection.
TEST_F(RelayCoreTest, RequestNotWrittenWhenTheSchedulerClosedGoesOverANewConnection) {
  hold_link_output = true;
  host("A\nB\n");
  ASSERT_EQ(core->link_output(kImplicitLink), "A\n");
  link_closed(kImplicitLink);
  hold_link_output = false;
  settle();
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 2);
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"A"}) << "A once, on the new connection";
  reply(kImplicitLink, "a\n");
  reply(kImplicitLink, "b\n");
  EXPECT_EQ(host_lines(), (Lines{"a", "b"}));
  EXPECT_EQ(core->counters().requests_resent, 1u);
}

TEST_F(RelayCoreTest, RequestGoesOverANewConnectionOnlyOnce) {
  hold_link_output = true;
  host("A\n");
  link_closed(kImplicitLink);
  ASSERT_EQ(core->link_output(kImplicitLink), "A\n") << "sent again on the new connection";
  link_closed(kImplicitLink);
  EXPECT_EQ(host_lines(), Lines{error(RelayErrorKind::kClosed, "scheduler closed the connection")});
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 2);
  hold_link_output = false;
  host("B\n");
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"B"}) << "the next request may go again";
}

TEST_F(RelayCoreTest, RequestPartlyWrittenWhenTheSchedulerClosedIsAnsweredClosed) {
  hold_link_output = true;
  host("AB\n");
  core->link_output_written(kImplicitLink, 1);
  link_closed(kImplicitLink);
  EXPECT_EQ(host_lines(), Lines{error(RelayErrorKind::kClosed, "scheduler closed the connection")});
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 1);
  EXPECT_EQ(core->counters().requests_resent, 0u);
}

TEST_F(RelayCoreTest, TimeoutDropsConnectionAndLateBytesAreDiscarded) {
  host("A\nB\n");
  ASSERT_EQ(core->next_deadline(), now + 1s);
  advance(999ms);
  EXPECT_TRUE(host_lines().empty());
  advance(1ms);
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1);
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B"})) << "B on a new connection";
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 2);
  EXPECT_EQ(core->next_deadline(), now + 1s) << "B's own timeout counts from B";
  reply(kImplicitLink, "b\n");
  EXPECT_EQ(
      host_lines(),
      (Lines{error(RelayErrorKind::kTimeout, "no response from the scheduler within 1s"), "b"}));
  EXPECT_EQ(core->next_deadline(), std::nullopt);
}

TEST_F(RelayCoreTest, StrayAndOversizeSchedulerLines) {
  host("Z\n");
  reply(kImplicitLink, "z\nnobody asked\n");
  EXPECT_EQ(core->counters().stray_scheduler_lines, 1u);
  EXPECT_EQ(count(Op::kClose), 1) << "a second answer puts the connection out of step";
  EXPECT_EQ(host_lines(), Lines{"z"});
  host("A\n");
  EXPECT_EQ(count(Op::kConnect), 2);
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"Z", "A"}));
  reply(kImplicitLink, std::string(100, 'z'));
  EXPECT_EQ(host_lines(),
            Lines{error(RelayErrorKind::kOversize, "response line exceeds 64 bytes")});
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 2)
      << "the rest of a long line may never end: the connection is dropped";
  host("B\n");
  EXPECT_EQ(count(Op::kConnect), 3);
  reply(kImplicitLink, "b\n");
  EXPECT_EQ(host_lines(), Lines{"b"});
}

TEST_F(RelayCoreTest, OversizeLineWithNothingInFlightDropsTheConnectionToo) {
  host("A\n");
  reply(kImplicitLink, "a\n" + std::string(100, 'z'));
  EXPECT_EQ(host_lines(), Lines{"a"});
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1);
  EXPECT_EQ(core->counters().stray_scheduler_lines, 1u);
}

TEST_F(RelayCoreTest, IdleConnectionHoldsNoLongStrayLine) {
  limits.max_line = 100 * 1024;
  make_core();
  host(open_line("a"));
  reply(1, std::string(1000, 'g'));
  EXPECT_EQ(count(Op::kClose, 1), 0) << "a greeting may come in pieces";
  reply(1, std::string(4000, 'g'));
  EXPECT_EQ(count(Op::kClose, 1), 1) << "not a whole line cap's worth on every idle connection";
}

TEST_F(RelayCoreTest, SyncConnectsEarlySoAGreetingOnAcceptIsNoAnswer) {
  host("{\"ktstats_sync\":\"s\"}\n");
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 1);
  reply(kImplicitLink, "{\"hello\":1}\n");
  EXPECT_EQ(core->counters().stray_scheduler_lines, 1u);
  host("A\n");
  EXPECT_EQ(count(Op::kConnect), 1) << "the early connection is the session's";
  reply(kImplicitLink, "a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "s");
  EXPECT_EQ(lines[1], "a");
}

TEST_F(RelayCoreTest, EarlyConnectNeverWaitsNorDelaysTheSyncEcho) {
  timing.scheduler_wait = 1s;
  make_core();
  scheduler = Scheduler::kAbsent;
  host("{\"ktstats_sync\":\"s\"}\n");
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 1) << "an early connect never waits";
  EXPECT_EQ(host_lines().size(), 1u) << "the echo is not held back by an absent scheduler";
  EXPECT_TRUE(core->idle());
  host("A\n");
  EXPECT_EQ(count(Op::kConnectOrWait, kImplicitLink), 1)
      << "the request connects (and may wait) on its own";
  EXPECT_FALSE(core->idle());
}

TEST_F(RelayCoreTest, EarlyConnectThatFailsUnderAWaitingRequestIsRetriedWithAWait) {
  timing.scheduler_wait = 1s;
  make_core();
  scheduler = Scheduler::kManual;
  host(open_line("s1") + "A\n");
  ASSERT_EQ(log, (std::vector<LinkCommand>{{Op::kConnect, 1}}));
  core->on_link_failed(now, 1, "refused");
  settle();
  EXPECT_EQ(log.back(), (LinkCommand{Op::kConnectOrWait, 1}));
  EXPECT_EQ(host_lines(), Lines{open_echo("s1")}) << "no error: A may still wait";
  core->on_link_connected(now, 1);
  settle();
  EXPECT_EQ(sent_to(1), Lines{"A"});
}

TEST_F(RelayCoreTest, BlankSchedulerLinesAreNeverAnswers) {
  host("A\n");
  reply(kImplicitLink, "\n \r\n\t\n");
  EXPECT_TRUE(host_lines().empty());
  reply(kImplicitLink, "a\n\n");
  EXPECT_EQ(host_lines(), Lines{"a"});
  EXPECT_EQ(core->counters().stray_scheduler_lines, 0u) << "a blank line is not even stray";
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, BlankHostLinesGetNoAnswer) {
  host("\n \r\n\t\nA\n");
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(host_lines(), Lines{"a"});
  EXPECT_EQ(core->counters().requests, 1u);
}

TEST_F(RelayCoreTest, LineWithNothingInFlightIsNotTheNextAnswer) {
  host("A\n");
  reply(kImplicitLink, "a\n");
  reply(kImplicitLink, "{\"unsolicited\":true}\n");
  host("B\n");
  reply(kImplicitLink, "b\n");
  EXPECT_EQ(host_lines(), (Lines{"a", "b"}));
  EXPECT_EQ(core->counters().stray_scheduler_lines, 1u);
}

TEST_F(RelayCoreTest, OversizeRequestAnsweredInPlace) {
  host("A\n" + std::string(100, 'r') + "\nB\n");
  reply(kImplicitLink, "a\n");
  reply(kImplicitLink, "b\n");
  EXPECT_EQ(
      host_lines(),
      (Lines{"a", error(RelayErrorKind::kRequestTooLarge, "request line exceeds 64 bytes"), "b"}));
}

TEST_F(RelayCoreTest, HostBackpressureStopsIntake) {
  limits.max_queued = 10;
  make_core();
  host("A\nB\n");
  reply(kImplicitLink, std::string(60, 'a') + "\n");
  reply(kImplicitLink, std::string(60, 'b') + "\n");
  host("C\nD\nE\nF\nG\n");
  reply(kImplicitLink, std::string(60, 'c') + "\n");
  reply(kImplicitLink, std::string(60, 'd') + "\n");
  reply(kImplicitLink, std::string(60, 'e') + "\n");
  // 5 answers of 61 bytes are past the 256-byte high water: F waits.
  EXPECT_FALSE(core->wants_host_input());
  EXPECT_EQ(sent_to(kImplicitLink).size(), 5u);
  EXPECT_EQ(host_lines().size(), 5u);            // the host reads everything
  EXPECT_EQ(sent_to(kImplicitLink).size(), 6u);  // and F goes out
}

// The core frames the host's lines as views of the read buffer, which the
// next read overwrites: lines it could not take yet must not be views of it.
TEST_F(RelayCoreTest, HostLinesHeldBackOutliveTheReadBuffer) {
  limits.max_queued = 10;
  make_core();
  host("A\nB\nC\nD\nE\n");
  for (char answer : std::string("abcde")) reply(kImplicitLink, std::string(60, answer) + "\n");
  // Past the high water: the lines of the next read are held back.
  ASSERT_FALSE(core->wants_host_input());
  std::string buffer = "F\nG\nHH";
  host(buffer);
  buffer.assign(buffer.size(), '#');
  EXPECT_EQ(sent_to(kImplicitLink).size(), 5u);
  EXPECT_EQ(host_lines().size(), 5u);
  reply(kImplicitLink, "f\n");
  reply(kImplicitLink, "g\n");
  buffer = "H\n";
  host(buffer);
  buffer.assign(buffer.size(), '#');
  reply(kImplicitLink, "h\n");
  EXPECT_EQ(host_lines(), (Lines{"f", "g", "h"}));
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B", "C", "D", "E", "F", "G", "HHH"}));
}

// A long answer comes in pieces; it reaches the host whole, whether the
// host output is empty (the line is swapped in) or not (it is copied).
TEST_F(RelayCoreTest, AnswersInPiecesReachTheHostWhole) {
  limits.max_line = 100 * 1024;
  limits.host_output_high_water = 1024 * 1024;
  make_core();
  const std::string big(90 * 1024, 'x');
  const std::string other(70 * 1024, 'y');
  auto in_pieces = [&](const std::string& line) {
    const std::string bytes = line + "\n";
    for (std::size_t i = 0; i < bytes.size(); i += 16 * 1024) {
      std::string piece = bytes.substr(i, 16 * 1024);
      reply(kImplicitLink, piece);
      piece.assign(piece.size(), '#');
    }
  };
  host("A\nB\nC\n");
  in_pieces(big);
  in_pieces(other);
  EXPECT_EQ(host_lines(), (Lines{big, other}));
  in_pieces(big);
  EXPECT_EQ(host_lines(), (Lines{big}));
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, HostOutputIsCompactedAsTheHostReadsSlowly) {
  limits.max_line = 100 * 1024;
  limits.host_output_high_water = 1024 * 1024;
  make_core();
  const std::string big(90 * 1024, 'x');
  host("A\nB\n");
  reply(kImplicitLink, big + "\n");
  reply(kImplicitLink, big + "\n");
  // Read a little over one answer: the written part is compacted away and
  // the rest is still exactly what was not read.
  core->host_output_written(now, big.size() + 10);
  EXPECT_EQ(core->host_output().size(), big.size() + 2 - 10);
  EXPECT_EQ(core->host_output().back(), '\n');
  core->host_output_written(now, core->host_output().size());
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, RequestsWaitForTheSchedulerInOrder) {
  timing.scheduler_wait = 5s;
  make_core();
  scheduler = Scheduler::kAbsent;
  host("A\n{\"ktstats_sync\":\"s\"}\nB\n");
  EXPECT_TRUE(sent_to(kImplicitLink).empty());
  EXPECT_TRUE(host_lines().empty()) << "the sync answer waits behind A";
  EXPECT_EQ(core->next_deadline(), now + 5s);
  core->on_link_connected(now, kImplicitLink);
  settle();
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"A"});
  EXPECT_EQ(core->next_deadline(), now + 1s) << "now the response timeout";
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(host_lines().size(), 2u);
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B"}));
}

TEST_F(RelayCoreTest, SchedulerThatNeverAppearsFailsOneRequestAtATime) {
  timing.scheduler_wait = 1s;
  make_core();
  scheduler = Scheduler::kAbsent;
  host("A\nB\n");
  ASSERT_EQ(core->next_deadline(), now + 1s);
  advance(999ms);
  EXPECT_TRUE(host_lines().empty());
  advance(1ms);
  EXPECT_EQ(host_lines(),
            Lines{error(RelayErrorKind::kNoScheduler, "no scheduler socket at /x (waited 1s)")});
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1) << "the wait is given up";
  EXPECT_EQ(count(Op::kConnectOrWait, kImplicitLink), 2) << "B waits afresh";
  EXPECT_EQ(core->next_deadline(), now + 1s);
  host_gone();
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 2) << "the wait is cancelled with the host";
  EXPECT_TRUE(core->idle());
  EXPECT_EQ(core->next_deadline(), std::nullopt);
}

TEST_F(RelayCoreTest, HostGoneDropsEverything) {
  host("A\nB\npartial");
  host_gone();
  EXPECT_TRUE(core->idle());
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1);
  EXPECT_EQ(core->next_deadline(), std::nullopt);
  host("C\n");
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "C"})) << "B and the partial line are gone";
}

// ------------------------------------------------ sync: the implicit session's new host

// A virtio port may never show the relay that a host left, when the next
// host attaches before the relay runs: the next host's sync line, with a
// nonce of its own, is then all that tells the sessions apart.
TEST_F(RelayCoreTest, SyncWithANewNonceStartsANewSessionWithoutAnEof) {
  host("{\"ktstats_sync\":\"n1\"}\nA\n");
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(host_lines().size(), 2u);
  EXPECT_EQ(count(Op::kConnect), 1);
  host("{\"ktstats_sync\":\"n2\"}\nB\n");
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1) << "the old session's connection is closed";
  EXPECT_EQ(count(Op::kConnect, kImplicitLink), 2) << "and the new one's opened at its sync";
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B"}));
  reply(kImplicitLink, "b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "n2");
  EXPECT_EQ(lines[1], "b");
  EXPECT_EQ(core->counters().sessions_replaced_at_sync, 1u);
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, OldSessionsWorkNeverReachesTheNewHost) {
  // A answered but not yet read by the host, C in flight, D waiting.
  host("{\"ktstats_sync\":\"n1\"}\nA\nC\nD\n");
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "C"}));
  host("{\"ktstats_sync\":\"n2\"}\nB\n");
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1);
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "C", "B"})) << "D is never sent";
  EXPECT_EQ(core->next_deadline(), now + 1s) << "B's timeout, not C's";
  reply(kImplicitLink, "b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u) << "the old echo, a, C and D are answered to nobody";
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "n2");
  EXPECT_EQ(lines[1], "b");
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, OldAnswerCutMidLineIsEndedBeforeTheNewEcho) {
  host("{\"ktstats_sync\":\"n1\"}\nA\n");
  core->host_output_written(now, core->host_output().size());
  reply(kImplicitLink, "a-long-answer\n");
  core->host_output_written(now, 4);
  host("{\"ktstats_sync\":\"n2\"}\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "") << "the written part of the old line is ended, the rest dropped";
  EXPECT_EQ(decode_sync_reply(lines[1])->nonce, "n2") << "the echo starts a line of its own";
}

TEST_F(RelayCoreTest, NewSessionCancelsTheOldWaitForTheScheduler) {
  timing.scheduler_wait = 5s;
  make_core();
  scheduler = Scheduler::kAbsent;
  host("{\"ktstats_sync\":\"n1\"}\nA\n");
  EXPECT_EQ(host_lines().size(), 1u);
  EXPECT_FALSE(core->idle()) << "A waits for the socket";
  host("{\"ktstats_sync\":\"n2\"}\n");
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1) << "the wait is cancelled with the old session";
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 1u) << "the echo does not wait behind the old request";
  EXPECT_EQ(decode_sync_reply(lines[0])->nonce, "n2");
  core->on_link_connected(now, kImplicitLink);  // a late report of the cancelled wait
  settle();
  EXPECT_TRUE(sent_to(kImplicitLink).empty());
  EXPECT_TRUE(core->idle());
}

TEST_F(RelayCoreTest, SameNonceResentIsNoNewSession) {
  host("{\"ktstats_sync\":\"n1\"}\nA\n");
  host("{\"ktstats_sync\":\"n1\"}\nB\n");
  reply(kImplicitLink, "a\n");
  reply(kImplicitLink, "b\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(decode_sync_reply(lines[2])->nonce, "n1") << "each sync line is answered";
  EXPECT_EQ(lines[1], "a");
  EXPECT_EQ(lines[3], "b");
  EXPECT_EQ(count(Op::kClose), 0);
  EXPECT_EQ(count(Op::kConnect), 1);
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "B"}));
  EXPECT_EQ(core->counters().sessions_replaced_at_sync, 0u);
}

TEST_F(RelayCoreTest, HostGoneForgetsTheNonce) {
  host("{\"ktstats_sync\":\"n1\"}\nA\n");
  host_gone();
  EXPECT_EQ(count(Op::kClose), 1);
  host("{\"ktstats_sync\":\"n2\"}\n");
  EXPECT_EQ(count(Op::kClose), 1) << "the session had already ended";
  EXPECT_EQ(core->counters().sessions_replaced_at_sync, 0u);
  EXPECT_EQ(count(Op::kConnect), 2);
}

// ktstats sends its sync line before anything else, so a line before the
// first sync of a session is that session's own.
TEST_F(RelayCoreTest, FirstSyncOfASessionKeepsWhatCameBefore) {
  host("A\n{\"ktstats_sync\":\"n1\"}\n");
  reply(kImplicitLink, "a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "a");
  EXPECT_EQ(count(Op::kClose), 0);
}

TEST_F(RelayCoreTest, PlainLinesAndSyncLinesGoToTheImplicitLink) {
  host("A\n");
  reply(kImplicitLink, "a\n");
  host(open_line("s1") + "B\n" + sync_line("n1") + "C\n");
  reply(1, "b\n");
  reply(kImplicitLink, "c\n");
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "C"}))
      << "a sync line selects the implicit session";
  EXPECT_EQ(sent_to(1), Lines{"B"});
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4], "c");
}

// Explicit sessions belong to a host that speaks sessions; a sync line with
// a new nonce is about the implicit session only.
TEST_F(RelayCoreTest, NewSyncNonceReplacesTheImplicitSessionOnly) {
  host(sync_line("n1") + "A\n" + open_line("s1") + "B\n" + sync_line("n1") + "C\n");
  // A in flight; B and C wait.
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"A"});
  host(sync_line("n2") + "D\n");
  EXPECT_EQ(count(Op::kClose, kImplicitLink), 1);
  EXPECT_EQ(count(Op::kClose, 1), 0) << "the explicit session is untouched";
  EXPECT_EQ(sent_to(1), Lines{"B"}) << "A was the implicit session's: B is next";
  reply(1, "b\n");
  EXPECT_EQ(sent_to(kImplicitLink), (Lines{"A", "D"})) << "C went with the old host";
  reply(kImplicitLink, "d\n");
  const auto lines = host_lines();
  EXPECT_EQ(lines, (Lines{open_echo("s1"), "b", encode_sync_reply({"n2", "9.9"}), "d"}))
      << "the explicit session's lines were kept, and in order";
  EXPECT_EQ(core->open_sessions(), 1u);
}

// Lines of another session are not the old host's to lose: with one of them
// unsent, the host output stays whole (the new host drops what comes
// before its echo anyway).
TEST_F(RelayCoreTest, HostOutputWithAnotherSessionsLinesIsKeptAtANewSyncNonce) {
  host(open_line("s1") + sync_line("n1"));
  host(sync_line("n2"));
  EXPECT_EQ(host_lines(), (Lines{open_echo("s1"), encode_sync_reply({"n1", "9.9"}),
                                 encode_sync_reply({"n2", "9.9"})}));
  EXPECT_EQ(core->counters().sessions_replaced_at_sync, 1u);
}

// ------------------------------------------------ explicit sessions

class InterleavedSessions : public RelayCoreTest,
                            public ::testing::WithParamInterface<std::size_t> {};

TEST_P(InterleavedSessions, EveryAnswerReachesItsOwnSessionInOrder) {
  const std::size_t sessions = GetParam();
  limits.max_sessions = 64;
  limits.max_queued = 8;
  limits.max_queued_bytes = 64 * 1024;
  limits.max_queued_answers = 256;
  limits.host_output_high_water = 1024 * 1024;
  make_core();
  std::string input;
  for (std::size_t s = 0; s < sessions; ++s) input += open_line("s" + std::to_string(s));
  constexpr int kRounds = 3;
  std::vector<std::string> requests;
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t s = 0; s < sessions; ++s) {
      const auto request = "s" + std::to_string(s) + "r" + std::to_string(round);
      input += select_line("s" + std::to_string(s)) + request + "\n";
      requests.push_back(request);
    }
  }
  host(input);
  // Each session has a link of its own, connected at its open.
  std::set<LinkId> links;
  for (const auto& command : log) {
    if (command.op == Op::kConnect) links.insert(command.link);
  }
  ASSERT_EQ(links.size(), sessions);
  EXPECT_EQ(*links.begin(), 1u);
  EXPECT_EQ(*links.rbegin(), sessions);
  // The scheduler answers whatever is in flight, on the link it came on.
  std::map<LinkId, std::size_t> answered;
  for (std::size_t served = 0; served < requests.size(); ++served) {
    LinkId in_flight = ~LinkId{0};
    for (const auto& [link, lines] : sent) {
      if (lines.size() > answered[link]) in_flight = link;
    }
    ASSERT_NE(in_flight, ~LinkId{0}) << "one request in flight after " << served;
    const auto& request = sent[in_flight][answered[in_flight]++];
    reply(in_flight, "answer to " + request + " on link " + std::to_string(in_flight) + "\n");
  }
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), sessions + requests.size());
  for (std::size_t s = 0; s < sessions; ++s) {
    EXPECT_EQ(lines[s], open_echo("s" + std::to_string(s)));
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::size_t session = i % sessions;
    EXPECT_EQ(lines[sessions + i],
              "answer to " + requests[i] + " on link " + std::to_string(session + 1));
  }
  EXPECT_EQ(core->counters().sessions_opened, sessions);
  EXPECT_EQ(core->open_sessions(), sessions);
  EXPECT_TRUE(core->idle());
}

INSTANTIATE_TEST_SUITE_P(Sessions, InterleavedSessions, ::testing::Values(2, 7, 50));

TEST_F(RelayCoreTest, EachSessionHasItsOwnLinkClosedAtItsClose) {
  host(open_line("a") + "A\n" + open_line("b") + "B\n");
  EXPECT_EQ(log, (std::vector<LinkCommand>{{Op::kConnect, 1}, {Op::kConnect, 2}}));
  reply(1, "a\n");
  reply(2, "b\n");
  host(close_line("a"));
  EXPECT_EQ(log.back(), (LinkCommand{Op::kClose, 1}));
  EXPECT_EQ(host_lines(),
            (Lines{open_echo("a"), "a", open_echo("b"), "b", encode_close_reply("a")}));
  EXPECT_EQ(core->open_sessions(), 1u);
  host(select_line("b") + "B2\n");
  EXPECT_EQ(sent_to(2), (Lines{"B", "B2"})) << "b's connection is b's alone";
  EXPECT_EQ(count(Op::kConnect, 2), 1);
}

TEST_F(RelayCoreTest, CloseIsAnsweredAfterTheSessionsEarlierRequests) {
  host(open_line("a") + "A1\nA2\n" + close_line("a"));
  EXPECT_EQ(count(Op::kClose), 0) << "A1 is in flight on a's connection";
  reply(1, "a1\n");
  EXPECT_EQ(count(Op::kClose), 0) << "A2 is";
  reply(1, "a2\n");
  EXPECT_EQ(count(Op::kClose, 1), 1);
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), "a1", "a2", encode_close_reply("a")}));
  EXPECT_EQ(core->open_sessions(), 0u);
}

TEST_F(RelayCoreTest, RequestsAfterTheSelectedSessionClosedAreNoSession) {
  host(open_line("a") + close_line("a") + "X\n" + select_line("a") + "Y\n");
  const auto no_session = error(RelayErrorKind::kNoSession, "session a is not open");
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), encode_close_reply("a"), no_session, no_session}));
  EXPECT_TRUE(sent.empty());
}

TEST_F(RelayCoreTest, CloseOfAnUnknownSessionIsJustTheEcho) {
  host("A\n" + close_line("never"));
  EXPECT_TRUE(split_lines(core->host_output()).empty()) << "in order: after A's answer";
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(host_lines(), (Lines{"a", encode_close_reply("never")}));
  EXPECT_EQ(count(Op::kClose), 0);
}

TEST_F(RelayCoreTest, SelectOfAnUnknownSessionAnswersNoSessionInOrder) {
  host(open_line("a") + "A\n" + select_line("zz") + "Z1\nZ2\n" + select_line("a") + "A2\n");
  reply(1, "a\n");
  reply(1, "a2\n");
  const auto no_session = error(RelayErrorKind::kNoSession, "session zz is not open");
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), "a", no_session, no_session, "a2"}));
  EXPECT_EQ(core->counters().requests, 5u) << "select lines are no requests";
}

TEST_F(RelayCoreTest, OpenResentIsTheSameSessionAnsweredAgain) {
  host(open_line("a") + "A\n" + open_line("a") + "B\n");
  EXPECT_EQ(count(Op::kConnect), 1);
  reply(1, "a\n");
  reply(1, "b\n");
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), "a", open_echo("a"), "b"}));
  EXPECT_EQ(core->counters().sessions_opened, 1u);
  EXPECT_EQ(core->open_sessions(), 1u);
  EXPECT_EQ(sent_to(1), (Lines{"A", "B"}));
}

TEST_F(RelayCoreTest, OpenAtTheLimitIsSessionLimitThenNoSession) {
  std::string input;
  for (int s = 0; s < 4; ++s) input += open_line("s" + std::to_string(s));
  host(input + open_line("s4") + "X\n" + select_line("s3") + "Y\n");
  auto lines = host_lines();
  ASSERT_EQ(sent_to(4), Lines{"Y"});
  reply(4, "y\n");
  lines.push_back(host_lines().at(0));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[3], open_echo("s3"));
  EXPECT_EQ(lines[4],
            error(RelayErrorKind::kSessionLimit, "session limit reached (4 sessions open)"));
  EXPECT_EQ(lines[5], error(RelayErrorKind::kNoSession, "session s4 is not open"));
  EXPECT_EQ(lines[6], "y");
  EXPECT_EQ(count(Op::kConnect), 4) << "no link for the session refused";
}

TEST_F(RelayCoreTest, OpenBehindACloseTakesItsPlaceButNotItsSlotBeforeTheClosesTurn) {
  limits.max_sessions = 2;
  make_core();
  host(open_line("a") + open_line("b") + select_line("a") + "A\n" + close_line("b") +
       open_line("c"));
  // b's close waits behind A, but b no longer counts: c opens, on a slot
  // of its own, since b's connection is still open.
  EXPECT_EQ(count(Op::kClose), 0);
  EXPECT_EQ(last_connected(), 3u);
  reply(1, "a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3], encode_close_reply("b"));
  EXPECT_EQ(lines[4], open_echo("c"));
  EXPECT_EQ(count(Op::kClose, 2), 1);
  // With b's connection closed, its slot is free for the next session.
  host(close_line("c") + open_line("d"));
  EXPECT_EQ(host_lines(), (Lines{encode_close_reply("c"), open_echo("d")}));
  const auto close_b = std::find(log.begin(), log.end(), LinkCommand{Op::kClose, 2});
  const auto connect_d = std::find(close_b, log.end(), LinkCommand{Op::kConnect, 2});
  EXPECT_NE(connect_d, log.end());
  EXPECT_EQ(count(Op::kConnect, 2), 2);
}

TEST_F(RelayCoreTest, HostGoneClosesEveryLink) {
  host(open_line("a") + "A\n" + open_line("b") + sync_line("n") + open_line("c"));
  host_gone();
  for (LinkId link : {0u, 1u, 2u, 3u}) EXPECT_EQ(count(Op::kClose, link), 1) << link;
  EXPECT_EQ(core->open_sessions(), 0u);
  EXPECT_TRUE(core->idle());
  EXPECT_EQ(core->next_deadline(), std::nullopt);
  host("P\n" + open_line("a"));
  EXPECT_EQ(sent_to(kImplicitLink), Lines{"P"}) << "the selection is the implicit session again";
  reply(kImplicitLink, "p\n");
  EXPECT_EQ(host_lines(), (Lines{"p", open_echo("a")}));
  EXPECT_EQ(last_connected(), 1u) << "slots start over";
}

TEST_F(RelayCoreTest, StrayLineFromAnotherLinkIsNotTheAnswer) {
  host(open_line("a") + open_line("b") + select_line("a") + "A\n");
  reply(2, "from b, unasked\n");
  EXPECT_EQ(core->counters().stray_scheduler_lines, 1u);
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), open_echo("b")}));
  reply(1, "a\n");
  EXPECT_EQ(host_lines(), Lines{"a"});
  EXPECT_EQ(count(Op::kClose), 0) << "a stray line costs no connection";
}

TEST_F(RelayCoreTest, TimeoutClosesOnlyThatSessionsLink) {
  host(open_line("a") + open_line("b") + "B\n" + select_line("a") + "A\n");
  advance(1s);
  EXPECT_EQ(count(Op::kClose, 2), 1);
  EXPECT_EQ(count(Op::kClose, 1), 0);
  EXPECT_EQ(sent_to(1), Lines{"A"}) << "a's connection was open already";
  reply(2, "late b\n");
  EXPECT_EQ(core->counters().stray_scheduler_lines, 0u) << "a closed link's bytes are ignored";
  reply(1, "a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(kind_of(lines[2]), RelayErrorKind::kTimeout);
  EXPECT_EQ(lines[3], "a");
}

TEST_F(RelayCoreTest, OversizeClosesOnlyThatSessionsLink) {
  host(open_line("a") + open_line("b") + "B\n" + select_line("a") + "A\n");
  reply(2, std::string(100, 'z') + "\n");
  EXPECT_EQ(count(Op::kClose, 2), 1);
  EXPECT_EQ(count(Op::kClose, 1), 0);
  reply(1, "a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(kind_of(lines[2]), RelayErrorKind::kOversize);
  EXPECT_EQ(lines[3], "a");
}

TEST_F(RelayCoreTest, ClosedFailsOnlyThatSessionsRequestInFlight) {
  // a's A1 in flight; b's B and a's A2 wait.
  host(open_line("a") + open_line("b") + select_line("a") + "A1\n" + select_line("b") + "B\n" +
       select_line("a") + "A2\n");
  link_closed(1);
  EXPECT_EQ(sent_to(2), Lines{"B"});
  reply(2, "b\n");
  EXPECT_EQ(sent_to(1), (Lines{"A1", "A2"})) << "A2 goes over a new connection";
  EXPECT_EQ(count(Op::kConnect, 1), 2) << "the session stays open and connects again";
  reply(1, "a2\n");
  const auto closed = error(RelayErrorKind::kClosed, "scheduler closed the connection");
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), open_echo("b"), closed, "b", "a2"}));
}

TEST_F(RelayCoreTest, ClosedWhileIdleRequestsWaitingGoOverANewConnection) {
  host(open_line("a") + open_line("b") + "B\n" + select_line("a") + "A\n");
  link_closed(1);  // the scheduler ends a's idle connection; A waits behind B
  reply(2, "b\n");
  EXPECT_EQ(count(Op::kConnect, 1), 2);
  reply(1, "a\n");
  EXPECT_EQ(host_lines(), (Lines{open_echo("a"), open_echo("b"), "b", "a"}));
}

// ------------------------------------------------ bounds

TEST_F(RelayCoreTest, RefusalsRepeatedCostOneEntry) {
  host("A\n" + select_line("gone"));
  std::string refused;
  for (int i = 0; i < 1000; ++i) refused += "R\n";
  host(refused);
  EXPECT_LE(core->queue_footprint().entries, 2u) << "the request in flight and one run";
  reply(kImplicitLink, "a\n");
  EXPECT_EQ(host_lines().size(), 1001u);
}

TEST_F(RelayCoreTest, AnswersPastTheirBoundStopIntakeUntilTheyGo) {
  host("A\n");
  std::string closes;
  for (int i = 0; i < 40; ++i) closes += close_line("id" + std::to_string(i));
  host(closes);
  EXPECT_FALSE(core->wants_host_input());
  EXPECT_EQ(core->queue_footprint().entries, 1 + limits.max_queued_answers);
  reply(kImplicitLink, "a\n");
  const auto lines = host_lines();
  ASSERT_EQ(lines.size(), 41u);
  EXPECT_EQ(lines[40], encode_close_reply("id39"));
  EXPECT_TRUE(core->wants_host_input());
}

TEST_F(RelayCoreTest, QueueBoundIsPerSession) {
  host(open_line("a") + "A1\nA2\nA3\nA4\nA5\n" + open_line("b") + "B1\nB2\nB3\n");
  const auto full = error(RelayErrorKind::kQueueFull, "relay queue full (3 requests waiting)");
  for (const auto* answer : {"1\n", "2\n", "3\n", "4\n"}) reply(1, answer);
  for (const auto* answer : {"b1\n", "b2\n", "b3\n"}) reply(2, answer);
  const auto lines = host_lines();
  EXPECT_EQ(lines,
            (Lines{open_echo("a"), "1", "2", "3", "4", full, open_echo("b"), "b1", "b2", "b3"}));
}

}  // namespace
}  // namespace ktstats::relay
