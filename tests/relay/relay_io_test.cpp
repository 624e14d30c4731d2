// ktstats-relay's I/O as a real process: its options, the cost of an idle
// relay, and scheduler connections that wait for the socket.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "ktstats/relay_line.hpp"
#include "relay_fixture.hpp"

namespace ktstats::test {
namespace {

constexpr const char* kStats = R"({"req":"stats"})";

using RelayIo = RelayFixture;

std::string open_line(const std::string& id) { return encode_control_line(OpenLine{id}); }

TEST_F(RelayIo, MaxSessionsOutsideOneTo1024IsAUsageError) {
  for (const char* value : {"0", "1025", "-3", "many", ""}) {
    relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--max-sessions", value}));
    EXPECT_EQ(relay->wait(5s), 64) << value;
    EXPECT_NE(relay->stderr_text().find("is not a number from 1 to 1024"), std::string::npos)
        << relay->stderr_text();
  }
}

// Waits until the relay has made no context switch for a while (the
// host's reads of the last answers raise write-space edges a little
// later); false if it never settles.
bool settles(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  auto last = voluntary_switches(pid);
  while (std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(300ms);
    const auto now = voluntary_switches(pid);
    if (now == last) return true;
    last = now;
  }
  return false;
}

// Nothing pending means no timer armed and no descriptor ready: a relay
// with a host attached, sessions open and scheduler connections held, all
// silent, sleeps without waking.
TEST_F(RelayIo, SilentHostWithSessionsOpenCostsNoWakeUps) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1);
  for (const std::string id : {"a", "b", "c"}) {
    ASSERT_TRUE(decode_open_reply(ask(host, open_line(id))).has_value());
    EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1) << id;
  }
  ASSERT_TRUE(settles(relay->pid()));
  const auto before = voluntary_switches(relay->pid());
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(voluntary_switches(relay->pid()), before) << "the relay woke while nothing happened";
  // And it still answers at once.
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 2);
}

// Sessions whose requests wait for an absent scheduler socket share one
// wait; when the socket appears each is answered on its own connection.
TEST_F(RelayIo, SessionsWaitingForTheSchedulerAreAnsweredWhenItAppears) {
  start_relay({"--scheduler-wait", "20s"});
  auto host = next_session();
  std::string burst;
  for (const std::string id : {"a", "b", "c", "d", "e"}) burst += open_line(id) + "\n" + kStats + "\n";
  ASSERT_TRUE(host.write(burst));
  for (const std::string id : {"a", "b", "c", "d", "e"}) {
    auto echo = host.read_line(5s);
    ASSERT_TRUE(echo.has_value()) << id;
    ASSERT_TRUE(decode_open_reply(*echo).has_value()) << *echo;
    if (id == "a") {
      EXPECT_FALSE(host.read_line(200ms).has_value()) << "answered before the scheduler existed";
      start_scheduler();
    }
    auto answer = host.read_line(5s);
    ASSERT_TRUE(answer.has_value()) << id;
    EXPECT_EQ(field(payload(*answer), "session_reads"), 1) << id << ": " << *answer;
  }
}

}  // namespace
}  // namespace ktstats::test
