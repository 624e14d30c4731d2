// serve's per-VM core, driven without I/O: routing by the FIFO of who gets
// the next line, lines it refuses, timeouts, clients going, a relay
// without sessions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "ktstats/relay_line.hpp"
#include "serve/vm_core.hpp"

namespace ktstats::serve {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kStats = R"({"req":"stats"})";

class VmCoreTest : public ::testing::Test {
 protected:
  // Ids without the random prefix, so the lines can be spelt out.
  VmCoreTest() : core("vm1", limits(), "") {}
  static CoreLimits limits() {
    CoreLimits limits;
    limits.request_timeout = 2s;
    return limits;
  }

  // Everything for the VM so far, taken.
  std::string take_vm() {
    std::string out(core.vm_output());
    core.vm_output_written(out.size());
    return out;
  }
  std::string take_client(ClientId id) {
    std::string out(core.client_output(id));
    core.client_output_written(now, id, out.size());
    return out;
  }
  void vm_says(const std::string& line) { core.on_vm_bytes(now, line + "\n"); }
  void client_says(ClientId id, std::string_view line) {
    core.on_client_bytes(now, id, std::string(line) + "\n");
  }
  static std::string open(const std::string& id) { return encode_control_line(OpenLine{id}) + "\n"; }
  static std::string echo(const std::string& id) {
    return encode_open_reply({id, "0.2.0", 64});
  }

  Clock::time_point now = Clock::time_point{} + 1h;
  VmCore core;
};

TEST_F(VmCoreTest, EachClientGetsItsOwnSessionAndItsOwnAnswers) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  // Until the relay's answer to the first open says it speaks sessions,
  // nothing but that client's lines go out.
  client_says(2, kStats);
  EXPECT_EQ(take_vm(), open("c1") + std::string(kStats) + "\n");
  vm_says(echo("c1"));
  EXPECT_EQ(take_vm(), open("c2") + std::string(kStats) + "\n");
  vm_says("answer-1");
  vm_says(echo("c2"));
  vm_says("answer-2");
  EXPECT_EQ(take_client(1), "answer-1\n");
  EXPECT_EQ(take_client(2), "answer-2\n");
  EXPECT_EQ(core.mode(), WireMode::kSessions);
  // The next request of the first goes after a select of its session.
  client_says(1, kStats);
  EXPECT_EQ(take_vm(), encode_control_line(SelectLine{"c1"}) + "\n" + std::string(kStats) + "\n");
}

TEST_F(VmCoreTest, ControlLinesAreAnsweredEinvalAndNeverForwarded) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  for (const auto& line : {encode_control_line(SelectLine{"c9"}), encode_control_line(OpenLine{"x"}),
                           encode_control_line(CloseLine{"c1"}), encode_control_line(SyncLine{"n"}),
                           std::string("  ")}) {
    client_says(1, line);
    EXPECT_EQ(take_vm(), "") << line;
    EXPECT_EQ(take_client(1).rfind(R"({"errno":22,"args":{"resp":)", 0), 0u) << line;
  }
}

TEST_F(VmCoreTest, AnswersGoOutInTheOrderAskedWhoeverAnswers) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_bytes(now, 1, std::string(kStats) + "\ngarbage-from-vm-side?\n");
  core.on_client_bytes(now, 1, encode_control_line(SelectLine{"c9"}) + "\n");
  EXPECT_EQ(take_client(1), "");  // its refusal waits for the answers before it
  vm_says(echo("c1"));
  vm_says("a1");
  EXPECT_EQ(take_client(1), "a1\n");
  vm_says("a2");
  const auto out = take_client(1);
  EXPECT_EQ(out.rfind("a2\n{\"errno\":22", 0), 0u) << out;
}

TEST_F(VmCoreTest, ATimeoutAnswersTheClientAndResynchronisesOnAMarker) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  client_says(1, kStats);
  vm_says(echo("c1"));
  vm_says("a1");
  take_client(1);
  take_vm();
  client_says(1, kStats);
  take_vm();
  now += 2s;
  core.on_time(now);
  const auto timed_out = take_client(1);
  EXPECT_EQ(timed_out.rfind(R"({"errno":110,)", 0), 0u) << timed_out;
  // The sessions open before are closed first, then the marker opened.
  EXPECT_EQ(take_vm(), encode_control_line(CloseLine{"c1"}) + "\n" + open("resync2"));
  // Meanwhile, requests are answered at once.
  client_says(1, kStats);
  EXPECT_EQ(take_client(1).rfind(R"({"errno":110,)", 0), 0u);
  // The late answer is dropped; the marker's echo ends the wait, and the
  // marker's session is closed.
  vm_says("late");
  vm_says(encode_close_reply("c1"));
  vm_says(echo("resync2"));
  EXPECT_EQ(take_client(1), "");
  EXPECT_EQ(take_vm(), encode_control_line(CloseLine{"resync2"}) + "\n");
  client_says(1, kStats);
  EXPECT_EQ(take_vm(), open("c3") + std::string(kStats) + "\n");
}

TEST_F(VmCoreTest, WithEverySessionHeldAResyncClosesThemBeforeItsMarker) {
  // The relay's session limit reached by serve's own clients: the marker's
  // open would be refused unless their closes go first.
  core.on_vm_connected(now);
  constexpr ClientId kClients = 64;
  for (ClientId id = 1; id <= kClients; ++id) {
    core.on_client_attached(now, id);
    client_says(id, kStats);
    if (id == 1) vm_says(echo("c1"));
  }
  take_vm();
  vm_says("a1");
  for (ClientId id = 2; id <= kClients; ++id) {
    vm_says(echo("c" + std::to_string(id)));
    if (id < kClients) vm_says("a" + std::to_string(id));
  }
  EXPECT_EQ(take_client(1), "a1\n");
  now += 2s;  // the last answer never came: the VM paused
  core.on_time(now);
  const auto out = take_vm();
  std::string closes;
  for (ClientId id = 1; id <= kClients; ++id) {
    closes += encode_control_line(CloseLine{"c" + std::to_string(id)}) + "\n";
  }
  EXPECT_EQ(out, closes + open("resync65"));
  // The VM back: the late answer, the closes' echoes, the marker's echo.
  vm_says("a64");
  for (ClientId id = 1; id <= kClients; ++id) vm_says(encode_close_reply("c" + std::to_string(id)));
  vm_says(echo("resync65"));
  take_vm();
  client_says(1, kStats);
  EXPECT_EQ(take_vm(), open("c66") + std::string(kStats) + "\n");
  vm_says(encode_close_reply("resync65"));
  vm_says(echo("c66"));
  vm_says("again");
  EXPECT_EQ(take_client(1), "again\n");
}

TEST_F(VmCoreTest, AMarkerIsSentAgainUntilOneIsEchoedAndEveryOneIsClosed) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  client_says(1, kStats);
  vm_says(echo("c1"));
  take_vm();
  now += 2s;
  core.on_time(now);
  take_client(1);
  EXPECT_EQ(take_vm(), encode_control_line(CloseLine{"c1"}) + "\n" + open("resync2"));
  // No echo within a second: the relay may have restarted after reading
  // it (its port stays connected). A fresh marker, then another.
  ASSERT_TRUE(core.next_deadline());
  now = *core.next_deadline();
  core.on_time(now);
  EXPECT_EQ(take_vm(), open("resync3"));
  // The first marker's echo after all: the second's is still to come.
  vm_says(echo("resync2"));
  EXPECT_EQ(take_vm(), encode_control_line(CloseLine{"resync2"}) + "\n" +
                           encode_control_line(CloseLine{"resync3"}) + "\n");
  client_says(1, kStats);
  EXPECT_EQ(take_vm(), open("c4") + std::string(kStats) + "\n");
  vm_says(echo("resync3"));
  vm_says(encode_close_reply("resync2"));
  vm_says(encode_close_reply("resync3"));
  vm_says(echo("c4"));
  vm_says("a4");
  EXPECT_EQ(take_client(1), "a4\n");
}

TEST_F(VmCoreTest, AVmThatSpeaksButNeverEchoesAMarkerIsConnectedToAgain) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  client_says(1, kStats);
  vm_says(echo("c1"));
  now += 2s;
  core.on_time(now);
  bool reset = false;
  for (int second = 0; second < 10 && !reset; ++second) {
    take_vm();
    vm_says(R"({"ktstr_relay_error":"too many sessions","kind":"session_limit"})");
    now += 1s;
    core.on_time(now);
    reset = core.take_vm_reset();
  }
  EXPECT_TRUE(reset);
}

TEST_F(VmCoreTest, AClientGoneHasItsSessionClosedAndItsLateAnswerDropped) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  vm_says(echo("c1"));
  take_vm();
  core.on_client_gone(now, 1);
  EXPECT_EQ(take_vm(), encode_control_line(CloseLine{"c1"}) + "\n");
  client_says(2, kStats);
  take_vm();
  vm_says("for-1");
  vm_says(encode_close_reply("c1"));
  vm_says(echo("c2"));
  vm_says("for-2");
  EXPECT_EQ(take_client(2), "for-2\n");
}

TEST_F(VmCoreTest, WhileTheVmIsAwayARequestIsAnsweredAtOnce) {
  core.on_vm_unreachable({ENOTCONN, "vm1: waiting for the VM's port"});
  core.on_client_attached(now, 1);
  client_says(1, kStats);
  EXPECT_EQ(take_client(1), R"({"errno":107,"args":{"resp":"vm1: waiting for the VM's port"}})" "\n");
  core.on_vm_connected(now);
  client_says(1, kStats);
  take_vm();
  core.on_vm_gone(now, {ECONNRESET, "vm1: gone"});
  EXPECT_EQ(take_client(1), R"({"errno":104,"args":{"resp":"vm1: gone"}})" "\n");
}

TEST_F(VmCoreTest, ARelayWithoutSessionsServesOneClientAtATime) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  client_says(2, kStats);
  take_vm();
  vm_says(R"({"errno":22,"args":{"resp":"missing field `req`"}})");
  vm_says("a1");
  EXPECT_EQ(core.mode(), WireMode::kOneAtATime);
  EXPECT_EQ(take_client(1), "a1\n");
  EXPECT_EQ(take_vm(), "");  // the second waits
  core.on_client_gone(now, 1);
  const auto next = take_vm();
  EXPECT_NE(next.find("ktstats_sync"), std::string::npos) << next;
  EXPECT_NE(next.find(kStats), std::string::npos) << next;
}

TEST_F(VmCoreTest, WithoutSessionsTheNextClientWaitsForThePreviousOnesLines) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  take_vm();
  vm_says(R"({"errno":22,"args":{"resp":"missing field `req`"}})");
  vm_says("a1");
  take_client(1);
  client_says(1, kStats);
  take_vm();
  // The owner goes with its answer still to come: the second's sync would
  // make a 0.1 relay drop it, and shift every answer after.
  core.on_client_gone(now, 1);
  client_says(2, kStats);
  EXPECT_EQ(take_vm(), "");
  vm_says("late-a1");
  const auto next = take_vm();
  EXPECT_NE(next.find("ktstats_sync"), std::string::npos) << next;
  vm_says(R"({"errno":22,"args":{"resp":"not a request"}})");  // the sync, elsewhere
  vm_says("a2");
  EXPECT_EQ(take_client(2), "a2\n");
}

TEST_F(VmCoreTest, TheProbingClientLeavingDoesNotStallTheVm) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  take_vm();
  vm_says(std::string(limits().max_line + 10, 'x'));  // an over-long "echo", skipped
  core.on_client_gone(now, 1);
  // The rest of the lines due, the request's answer and the close's echo:
  // nothing says what the relay speaks.
  vm_says("a1");
  vm_says(encode_close_reply("c1"));
  client_says(2, kStats);
  // Nothing answers the first open: once it is overdue, the connection is
  // made again (its state unknown, no sessions known).
  ASSERT_TRUE(core.next_deadline());
  now += 2s;
  core.on_time(now);
  EXPECT_TRUE(core.take_vm_reset());
}

TEST_F(VmCoreTest, ARequestsWaitStartsWhenTheOneBeforeItIsAnswered) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  vm_says(echo("c1"));
  vm_says("a1");
  take_client(1);
  client_says(1, kStats);
  client_says(2, kStats);
  take_vm();
  // The relay takes 1.5 s on the first, then 1.5 s on the second: each
  // within the 2 s timeout, together not.
  now += 1500ms;
  vm_says("slow-1");
  now += 1s;
  core.on_time(now);
  EXPECT_EQ(take_client(2), "");
  EXPECT_EQ(core.counters().resyncs, 0u);
  vm_says(echo("c2"));
  vm_says("slow-2");
  EXPECT_EQ(take_client(1), "slow-1\n");
  EXPECT_EQ(take_client(2), "slow-2\n");
}

TEST_F(VmCoreTest, AClientWhoseInputEndedIsDroppedOnceItsAnswersAreWritten) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  client_says(1, kStats);
  take_vm();
  core.on_client_input_ended(now, 1);
  EXPECT_FALSE(core.wants_client_input(1));
  EXPECT_TRUE(core.take_clients_to_drop().empty());
  vm_says(echo("c1"));
  vm_says("a1");
  EXPECT_TRUE(core.take_clients_to_drop().empty());
  EXPECT_EQ(take_client(1), "a1\n");
  EXPECT_EQ(core.take_clients_to_drop(), std::vector<ClientId>{1});
  EXPECT_EQ(take_vm(), encode_control_line(CloseLine{"c1"}) + "\n");
}

TEST_F(VmCoreTest, ARequestPastTheRelaysSessionLimitIsAnsweredSo) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_attached(now, 2);
  client_says(1, kStats);
  vm_says(echo("c1"));
  vm_says("a1");
  client_says(2, kStats);
  take_vm();
  vm_says(R"({"ktstr_relay_error":"at most 1 sessions","kind":"session_limit"})");
  vm_says(R"({"ktstr_relay_error":"no session selected","kind":"no_session"})");
  const auto answer = take_client(2);
  EXPECT_EQ(answer.rfind(R"({"errno":11,)", 0), 0u) << answer;
  EXPECT_NE(answer.find("at most 1 sessions"), std::string::npos) << answer;
  EXPECT_NE(answer.find("until it disconnects"), std::string::npos) << answer;
}

TEST_F(VmCoreTest, PastMaxClientsTheClientIsAnsweredAndDropped) {
  CoreLimits small = limits();
  small.max_clients = 1;
  VmCore one("vm1", small);
  one.on_client_attached(now, 1);
  one.on_client_attached(now, 2);
  EXPECT_FALSE(one.wants_client_input(2));
  const std::string out(one.client_output(2));
  EXPECT_EQ(out.rfind(R"({"errno":87,)", 0), 0u) << out;
  one.client_output_written(now, 2, out.size());
  EXPECT_EQ(one.take_clients_to_drop(), std::vector<ClientId>{2});
}

TEST_F(VmCoreTest, LinesServeAnswersItselfCannotGrowAClientsOutputPastItsBound) {
  core.on_client_attached(now, 1);
  // 64 KiB of blank lines in one read: each is answered EINVAL by serve.
  core.on_client_bytes(now, 1, std::string(64 * 1024, '\n'));
  const std::size_t first = core.client_output(1).size();
  EXPECT_LE(first, limits().client_output_high_water + 200);
  EXPECT_FALSE(core.wants_client_input(1));  // lines of that read still wait
  std::size_t answers = 0;
  for (int round = 0; round < 1000 && !core.client_output(1).empty(); ++round) {
    const auto out = take_client(1);
    EXPECT_LE(out.size(), limits().client_output_high_water + 200);
    answers += static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
  }
  EXPECT_EQ(answers, 64u * 1024u);
  EXPECT_TRUE(core.wants_client_input(1));
}

// The event loop writes to and watches again only the clients an input
// changed, so every change of a client's output or wish for input must be
// reported, and no other client.
std::vector<ClientId> changed(VmCore& core) {
  auto ids = core.take_changed_clients();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

TEST_F(VmCoreTest, AnInputReportsTheClientsItChangedAndNoOther) {
  core.on_vm_connected(now);
  for (const ClientId id : {1, 2, 3}) core.on_client_attached(now, id);
  EXPECT_EQ(changed(core), (std::vector<ClientId>{1, 2, 3}));
  client_says(2, kStats);
  EXPECT_EQ(changed(core), std::vector<ClientId>{2});
  EXPECT_EQ(take_vm(), open("c1") + std::string(kStats) + "\n");
  EXPECT_TRUE(core.next_deadline());
  vm_says(echo("c1"));
  EXPECT_EQ(changed(core), std::vector<ClientId>{});
  vm_says("a2");
  EXPECT_EQ(changed(core), std::vector<ClientId>{2});
  EXPECT_EQ(take_client(2), "a2\n");
  EXPECT_EQ(changed(core), std::vector<ClientId>{2});
  // Nothing waits, is in flight or is unwritten: no deadline.
  EXPECT_FALSE(core.next_deadline());
  // A client held back by its unwritten answers is reported when they are
  // written, and its held lines are taken then.
  core.on_client_bytes(now, 3, std::string(64 * 1024, '\n'));
  EXPECT_FALSE(core.wants_client_input(3));
  EXPECT_EQ(changed(core), std::vector<ClientId>{3});
  while (!core.client_output(3).empty()) {
    take_client(3);
    EXPECT_EQ(changed(core), std::vector<ClientId>{3});
  }
  EXPECT_TRUE(core.wants_client_input(3));
  EXPECT_FALSE(core.next_deadline());
}

// The id of the first open line a core sends for a client's request.
std::string first_session_id(VmCore& core, Clock::time_point now) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  core.on_client_bytes(now, 1, std::string(kStats) + "\n");
  const std::string out(core.vm_output());
  const auto line_end = out.find('\n');
  const auto open = decode_control_line(out.substr(0, line_end));
  if (!open || !std::holds_alternative<OpenLine>(*open)) {
    ADD_FAILURE() << "no open line first: " << out;
    return "";
  }
  return std::get<OpenLine>(*open).id;
}

TEST_F(VmCoreTest, SessionIdsAreNotReusedByAnotherCoreOrProcess) {
  // Two cores: a VM added again, or serve started again, while the relay
  // may still hold the sessions of the first.
  VmCore first("vm1", limits());
  VmCore second("vm1", limits());
  const auto a = first_session_id(first, now);
  const auto b = first_session_id(second, now);
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 64u);
}

TEST_F(VmCoreTest, LinesOfAnEarlierHostBeforeTheFirstOpensEchoAreDropped) {
  core.on_vm_connected(now);
  core.on_client_attached(now, 1);
  client_says(1, kStats);
  take_vm();
  // Answers and echoes the relay still had for a host before us.
  vm_says(R"({"errno":0,"args":{"resp":{"old":1}}})");
  vm_says(echo("c7"));
  vm_says(encode_close_reply("c7"));
  vm_says(echo("c1"));
  vm_says("a1");
  EXPECT_EQ(core.mode(), WireMode::kSessions);
  EXPECT_EQ(take_client(1), "a1\n");
}

}  // namespace
}  // namespace ktstats::serve
