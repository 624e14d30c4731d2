// ktstats-relay as a real process between a test playing the host and the
// fake scheduler.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"
#include "relay_fixture.hpp"

namespace ktstats::test {
namespace {

using RelayProcess = RelayFixture;

constexpr const char* kStats = R"({"req":"stats"})";
constexpr const char* kLayers = R"({"req":"stats","args":{"target":"layers"}})";

TEST_F(RelayProcess, ForwardsStatsMetaAndErrors) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
  EXPECT_EQ(payload(ask(host, kLayers)).at("batch").at("nr_tasks").as_int64(), 3);
  EXPECT_TRUE(payload(ask(host, R"({"req":"stats_meta"})")).as_object().contains("Metrics"));
  EXPECT_EQ(ask(host, R"({"req":"stats","args":{"target":"nope"}})"),
            R"({"errno":22,"args":{"resp":"Unknown target \"nope\""}})");
}

TEST_F(RelayProcess, SyncIsAnsweredByTheRelayAndNeverForwarded) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(ask(host, encode_sync_request("n1")),
            std::string(R"({"ktstats_sync":"n1","relay":"ktstats-relay","version":")") +
                KTSTATS_VERSION + "\"}");
  // The scheduler saw only this request: sync lines never reach it.
  EXPECT_EQ(field(payload(ask(host, kStats)), "total_requests"), 1);
}

TEST_F(RelayProcess, NoSchedulerThenSchedulerAppears) {
  start_relay();
  auto host = next_session();
  EXPECT_EQ(relay_error(ask(host, kStats)), "no scheduler socket at " + scheduler_socket);
  start_scheduler();
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
}

TEST_F(RelayProcess, SchedulerWaitHoldsARequestUntilTheSocketAppears) {
  start_relay({"--scheduler-wait", "20s"});
  auto host = next_session();
  ASSERT_TRUE(host.send_line(kStats));
  EXPECT_FALSE(host.read_line(200ms).has_value()) << "answered before the scheduler existed";
  start_scheduler();
  auto answer = host.read_line(5s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(field(payload(*answer), "nr_cpus"), 4);
}

TEST_F(RelayProcess, SchedulerWaitInADirectoryThatDoesNotExistYet) {
  scheduler_socket = dir / "run/scx/root/stats";
  start_relay({"--scheduler-wait", "20s"});
  auto host = next_session();
  ASSERT_TRUE(host.send_line(kStats));
  ASSERT_EQ(::system(("mkdir -p " + dir / "run/scx/root").c_str()), 0);
  start_scheduler();
  auto answer = host.read_line(5s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(field(payload(*answer), "nr_cpus"), 4);
}

TEST_F(RelayProcess, SchedulerWaitGivesUpWithTheReason) {
  start_relay({"--scheduler-wait", "300ms"});
  auto host = next_session();
  EXPECT_EQ(relay_error(ask(host, kStats)),
            "no scheduler socket at " + scheduler_socket + " (waited 300ms)");
}

TEST_F(RelayProcess, StaleSocketFileIsConnectionRefused) {
  start_scheduler();
  stop_scheduler();  // SIGKILL leaves the socket file behind
  start_relay();
  auto host = next_session();
  EXPECT_EQ(relay_error(ask(host, kStats)),
            "scheduler socket " + scheduler_socket + " refused the connection");
}

TEST_F(RelayProcess, EmptyLinesAreIgnored) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  ASSERT_TRUE(host.write("\n\r\n  \n"));
  EXPECT_EQ(field(payload(ask(host, kStats)), "total_requests"), 1);
}

TEST_F(RelayProcess, OneConnectionPerSessionKeepsPerConnectionState) {
  start_scheduler();
  start_relay();
  {
    auto host = next_session();
    EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1);
    EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 2);
    EXPECT_EQ(field(payload(ask(host, kStats)), "requests_delta"), 1);
  }
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1);
}

TEST_F(RelayProcess, SchedulerClosingFailsTheRequestInFlightOnlyTheRestGoOverANewConnection) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  // One request in flight that the scheduler will cut mid-line, two queued.
  ASSERT_TRUE(host.write(R"({"req":"stats","args":{"fault":"close-mid-line"}})"
                         "\n" R"({"req":"stats"})" "\n" R"({"req":"stats_meta"})" "\n"));
  EXPECT_EQ(relay_error(host.read_line().value_or("")), "scheduler closed the connection");
  EXPECT_EQ(field(payload(host.read_line().value_or("")), "session_reads"), 1)
      << "not on a new connection";
  EXPECT_TRUE(payload(host.read_line().value_or("")).is_object());
}

TEST_F(RelayProcess, TimeoutDropsTheConnectionSoALateAnswerIsNeverTaken) {
  start_scheduler();
  start_relay({"--response-timeout", "300ms"});
  auto host = next_session();
  EXPECT_EQ(relay_error(ask(host, R"({"req":"stats","args":{"fault":"delay:900"}})")),
            "no response from the scheduler within 300ms");
  // The late "stats" answer must not be taken for this "layers" request.
  auto layers = payload(ask(host, kLayers));
  EXPECT_TRUE(layers.as_object().contains("batch")) << layers;
  EXPECT_FALSE(host.read_line(1200ms).has_value()) << "a stray line reached the host";
}

// The timeout runs from each request: answers that come in time keep
// coming in time however long the run of requests lasts. Each answer comes
// 750 ms before its deadline: room for a loaded machine.
TEST_F(RelayProcess, TimeoutCountsFromEachRequest) {
  start_scheduler();
  start_relay({"--response-timeout", "1s"});
  auto host = next_session();
  for (int i = 1; i <= 6; ++i) {
    const auto answer = ask(host, R"({"req":"stats","args":{"fault":"delay:250"}})");
    ASSERT_EQ(relay_error(answer), "") << "request " << i << ": " << answer;
  }
  EXPECT_EQ(relay_error(ask(host, R"({"req":"stats","args":{"fault":"delay:3000"}})")),
            "no response from the scheduler within 1s");
}

TEST_F(RelayProcess, SilentSchedulerTimesOut) {
  start_scheduler({"--fault", "silent"});
  start_relay({"--response-timeout", "200ms"});
  auto host = next_session();
  EXPECT_EQ(relay_error(ask(host, kStats)), "no response from the scheduler within 200ms");
}

TEST_F(RelayProcess, OversizeResponseIsAnErrorOnAFreshConnection) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(relay_error(ask(host, R"({"req":"stats","args":{"fault":"oversize:300000"}})")),
            "response line exceeds 262144 bytes");
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1) << "a new scheduler connection";
}

TEST_F(RelayProcess, OversizeRequestIsAnsweredNeverForwarded) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  const std::string big = R"({"req":"stats","args":{"x":")" + std::string(300 * 1024, 'a') + "\"}}";
  EXPECT_EQ(relay_error(ask(host, big)), "request line exceeds 262144 bytes");
  EXPECT_EQ(field(payload(ask(host, kStats)), "total_requests"), 1);
}

TEST_F(RelayProcess, GarbageFromTheSchedulerIsPassedThroughAsOneLine) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(ask(host, R"({"req":"stats","args":{"fault":"garbage"}})"), "\x1b[2J not json \x07");
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
}

TEST_F(RelayProcess, SecondAnswerToOneRequestIsDropped) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, R"({"req":"stats","args":{"fault":"twice"}})")), "session_reads"), 1);
  // The duplicate arrives with the answer, when nothing is in flight: the
  // relay drops it, so this answer is this request's, and drops the
  // connection it came on, which is out of step.
  EXPECT_TRUE(payload(ask(host, kLayers)).as_object().contains("batch"));
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1) << "a new connection";
}

TEST_F(RelayProcess, PipelinedRequestsPastTheQueueBoundGetErrorsInOrder) {
  start_scheduler({"--fault", "delay:20"});
  start_relay();
  auto host = next_session();
  std::string burst;
  for (int i = 0; i < 100; ++i) burst += std::string(kStats) + "\n";
  ASSERT_TRUE(host.write(burst));
  int answered = 0, rejected = 0;
  for (int i = 0; i < 100; ++i) {
    auto line = host.read_line();
    ASSERT_TRUE(line.has_value()) << "answer " << i << " missing";
    if (relay_error(*line).empty()) {
      EXPECT_EQ(rejected, 0) << "an answer came after a rejection: out of order";
      EXPECT_EQ(field(payload(*line), "session_reads"), ++answered);
    } else {
      EXPECT_EQ(relay_error(*line), "relay queue full (64 requests waiting)");
      ++rejected;
    }
  }
  // One request in flight and 64 waiting behind it: the message's number
  // counts only those waiting.
  EXPECT_EQ(answered, 65);
  EXPECT_EQ(rejected, 35);
}

TEST_F(RelayProcess, HostLeavingMidLineDropsThePartialLine) {
  start_scheduler();
  start_relay();
  {
    auto host = next_session();
    ASSERT_TRUE(host.write(R"({"req":"stats_me)"));
  }
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
}

TEST_F(RelayProcess, HostLeavingMidRequestNeverGetsTheOldAnswerLater) {
  start_scheduler();
  start_relay();
  {
    auto host = next_session();
    ASSERT_TRUE(host.send_line(R"({"req":"stats","args":{"fault":"delay:300"}})"));
  }
  auto host = next_session();
  EXPECT_TRUE(payload(ask(host, kLayers)).as_object().contains("batch"));
  EXPECT_FALSE(host.read_line(600ms).has_value()) << "the abandoned answer leaked";
}

TEST_F(RelayProcess, SchedulerRestartedBetweenAndDuringRequests) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "total_requests"), 1);
  stop_scheduler();
  start_scheduler();
  EXPECT_EQ(field(payload(ask(host, kStats)), "total_requests"), 1);  // the new scheduler

  stop_scheduler();
  start_scheduler({"--announce"});
  ASSERT_TRUE(host.send_line(R"({"req":"stats","args":{"fault":"delay:5000"}})"));
  ASSERT_TRUE(scheduler->read_line().has_value()) << "the request did not reach the scheduler";
  stop_scheduler();
  EXPECT_EQ(relay_error(host.read_line().value_or("")), "scheduler closed the connection");
  start_scheduler();
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
}

TEST_F(RelayProcess, HundredSessionsInARow) {
  start_scheduler();
  start_relay();
  for (int i = 0; i < 100; ++i) {
    auto host = next_session();
    ASSERT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1) << "session " << i;
  }
  EXPECT_EQ(field(payload(ask(*std::make_unique<LinePeer>(next_session()), kStats)),
                  "total_requests"),
            101);
}

TEST_F(RelayProcess, TenThousandRequestsWithoutFdOrMemoryGrowth) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(ask(host, kStats).empty());
  const auto fds = open_fd_count(relay->pid());
  const auto rss = rss_kib(relay->pid());
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(host.send_line(kStats));
    auto line = host.read_line();
    ASSERT_TRUE(line.has_value()) << "request " << i;
    ASSERT_EQ(line->rfind(R"({"errno":0,)", 0), 0u) << *line;
  }
  EXPECT_EQ(open_fd_count(relay->pid()), fds);
  if (!kSanitizerBuild) {
    EXPECT_LE(rss_kib(relay->pid()), rss + 64) << "RSS grew from " << rss << " KiB";
  }
}

TEST_F(RelayProcess, HostThatStopsReadingDoesNotBlockTheRelay) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  // Pipelined requests for large answers, never read: the relay's output
  // backs up, it stops taking requests, and still answers a signal.
  std::string burst;
  for (int i = 0; i < 5000; ++i) burst += R"({"req":"stats_meta"})" "\n";
  (void)host.write(burst.substr(0, 64 * 1024));
  const auto rss = rss_kib(relay->pid());
  if (!kSanitizerBuild) {
    EXPECT_LT(rss, 8u * 1024) << "relay RSS " << rss << " KiB with a stuck host";
  }
  relay->signal(SIGTERM);
  EXPECT_EQ(relay->wait(5s), 0);
}

TEST_F(RelayProcess, SigtermAndSigintExitZero) {
  start_relay();
  auto host = next_session();
  relay->signal(SIGTERM);
  EXPECT_EQ(relay->wait(5s), 0);
  start_relay();
  auto again = next_session();
  relay->signal(SIGINT);
  EXPECT_EQ(relay->wait(5s), 0);
}

TEST_F(RelayProcess, WaitsForThePortToAppear) {
  start_scheduler();
  const std::string later = dir / "later.sock";
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", later, "--socket",
                                scheduler_socket}));
  ASSERT_TRUE(relay->wait_for_stderr("waiting for " + later + " to appear"))
      << relay->stderr_text();
  Listener late(later);
  auto fd = late.accept(5s);
  ASSERT_TRUE(fd.valid()) << relay->stderr_text();
  LinePeer host(std::move(fd));
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
}

TEST_F(RelayProcess, WaitPortLimitFailsWithAClearMessage) {
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", dir / "never", "--socket",
                                scheduler_socket, "--wait-port", "200ms"}));
  EXPECT_EQ(relay->wait(5s), 69);
  EXPECT_NE(relay->stderr_text().find(dir / "never" + " did not appear within 200ms"),
            std::string::npos)
      << relay->stderr_text();
}

TEST_F(RelayProcess, InheritedDescriptorPort) {
  start_scheduler();
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port-fd", std::to_string(pair[1]),
                                "--socket", scheduler_socket},
                               {.inherit_fds = {pair[1]}}));
  ::close(pair[1]);
  LinePeer host{UniqueFd(pair[0])};
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
  host.close();
  EXPECT_EQ(relay->wait(5s), 0) << "the port closed for good: the relay is done";
}

TEST_F(RelayProcess, UsageErrorsExit64) {
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", "a", "--port-name", "b"}));
  EXPECT_EQ(relay->wait(5s), 64);
  EXPECT_NE(relay->stderr_text().find("exclude each other"), std::string::npos) << relay->stderr_text();
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--response-timeout", "soon"}));
  EXPECT_EQ(relay->wait(5s), 64);
  EXPECT_NE(relay->stderr_text().find("'soon' is not a duration"), std::string::npos)
      << relay->stderr_text();
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--scheduler-wait", "25h"}));
  EXPECT_EQ(relay->wait(5s), 64);
  EXPECT_NE(relay->stderr_text().find("the longest accepted is 24h"), std::string::npos)
      << relay->stderr_text();
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

// A tty-type port (hvc, ttyS): the relay puts it in raw mode, so the line
// discipline neither echoes requests back nor rewrites newlines.
TEST_F(RelayFixture, TtyPortInRawMode) {
  start_scheduler();
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  const std::string tty = ::ptsname(master.get());
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", tty,
                                "--socket", scheduler_socket}));
  ASSERT_TRUE(relay->wait_for_stderr("serving tty " + tty)) << relay->stderr_text();
  LinePeer host{UniqueFd(::dup(master.get()))};
  ASSERT_TRUE(host.send_line(R"({"req":"stats"})"));
  auto answer = host.read_line();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->rfind(R"({"errno":0,"args":{"resp":{"nr_cpus":4,)", 0), 0u) << *answer;
  EXPECT_EQ(answer->back(), '}') << "no \r added by the tty";
}

TEST_F(RelayFixture, HelpAndVersion) {
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--version"}));
  EXPECT_EQ(relay->read_all(), std::string("ktstats-relay ") + KTSTATS_VERSION + "\n");
  EXPECT_EQ(relay->wait(), 0);
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--help"}));
  const auto help = relay->read_all();
  EXPECT_EQ(relay->wait(), 0);
  for (const char* option : {"--port", "--port-name", "--port-fd", "--socket", "--response-timeout",
                             "--scheduler-wait", "--wait-port", "--log-level", "--log-target"}) {
    EXPECT_NE(help.find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

// A descriptor port that fails (a pty master whose other side is closed
// reads EIO) cannot come back: the relay says so and exits.
TEST_F(RelayFixture, InheritedDescriptorThatFailsEndsTheRelay) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  {
    UniqueFd slave(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY));
    ASSERT_TRUE(slave.valid());
  }  // closed: the master now reads EIO
  relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port-fd",
                                std::to_string(master.get()), "--socket", scheduler_socket},
                               {.inherit_fds = {master.get()}}));
  EXPECT_EQ(relay->wait(5s), 0) << relay->stderr_text();
  EXPECT_NE(relay->stderr_text().find("descriptor " + std::to_string(master.get()) + " failed: EIO"),
            std::string::npos)
      << relay->stderr_text();
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

constexpr const char* kAnswerOne = R"({"errno":0,"args":{"resp":1}})";
constexpr const char* kAnswerTwo = R"({"errno":0,"args":{"resp":2}})";

// The "kind" member of a relay error line, or "" if it has none.
std::string kind_of(const std::string& answer) {
  auto parsed = parse_json_line(answer);
  if (!parsed || !parsed->is_object()) return "";
  const auto* kind = parsed->as_object().if_contains("kind");
  return kind != nullptr && kind->is_string() ? std::string(kind->as_string()) : "";
}

// The test plays the scheduler itself, byte for byte.
class ScriptedScheduler : public RelayFixture {
 protected:
  // Accepts the relay's connection to the scheduler.
  LinePeer accept_relay() { return accept_relay_at(scheduler_listener); }

  Listener scheduler_listener{scheduler_socket};
};

TEST_F(ScriptedScheduler, BlankLinesFromTheSchedulerAreNeverAnswers) {
  start_relay();
  auto host = next_session();
  ASSERT_TRUE(host.send_line(kStats));
  auto scheduler_side = accept_relay();
  ASSERT_EQ(scheduler_side.read_line(), kStats);
  ASSERT_TRUE(scheduler_side.write(std::string("\n \r\n\t\n") + kAnswerOne + "\n"));
  EXPECT_EQ(host.read_line(), kAnswerOne);
  // A blank line while nothing is in flight is no stray line either.
  ASSERT_TRUE(scheduler_side.write("\n"));
  ASSERT_TRUE(host.send_line(kLayers));
  ASSERT_EQ(scheduler_side.read_line(), kLayers) << "the connection is kept";
  ASSERT_TRUE(scheduler_side.send_line(kAnswerTwo));
  EXPECT_EQ(host.read_line(), kAnswerTwo);
}

TEST_F(ScriptedScheduler, LineWithNothingInFlightIsDroppedNeverTakenForTheNextAnswer) {
  start_relay({"--log-level", "debug"});
  auto host = next_session();
  ASSERT_TRUE(host.send_line(kStats));
  auto scheduler_side = accept_relay();
  ASSERT_EQ(scheduler_side.read_line(), kStats);
  ASSERT_TRUE(scheduler_side.send_line(kAnswerOne));
  EXPECT_EQ(host.read_line(), kAnswerOne);

  ASSERT_TRUE(scheduler_side.send_line(R"({"unsolicited":true})"));
  ASSERT_TRUE(relay->wait_for_stderr("with no request in flight")) << relay->stderr_text();
  // After an answer it puts the connection out of step: the relay drops
  // it, and the next request goes out on a new one.
  EXPECT_TRUE(scheduler_side.closed_within(10s)) << "the connection is dropped";
  ASSERT_TRUE(host.send_line(kLayers));
  auto next_side = accept_relay();
  ASSERT_EQ(next_side.read_line(), kLayers);
  ASSERT_TRUE(next_side.send_line(kAnswerTwo));
  EXPECT_EQ(host.read_line(), kAnswerTwo);
}

TEST_F(RelayProcess, ErrorLinesNameTheirKind) {
  // Room for a 300 KB answer on a loaded machine under ASan, and a delay
  // well past it for the one that must time out.
  start_relay({"--response-timeout", "2s"});
  auto host = next_session();
  const auto absent = ask(host, kStats);
  EXPECT_EQ(relay_error(absent), "no scheduler socket at " + scheduler_socket);
  EXPECT_EQ(kind_of(absent), "no_scheduler") << absent;

  const std::string big = R"({"req":"stats","args":{"x":")" + std::string(300 * 1024, 'a') + "\"}}";
  EXPECT_EQ(kind_of(ask(host, big)), "request_too_large");

  start_scheduler();
  const auto late = ask(host, R"({"req":"stats","args":{"fault":"delay:6000"}})");
  EXPECT_EQ(relay_error(late), "no response from the scheduler within 2s");
  EXPECT_EQ(kind_of(late), "timeout") << late;
  const auto oversize = ask(host, R"({"req":"stats","args":{"fault":"oversize:300000"}})");
  EXPECT_EQ(relay_error(oversize), "response line exceeds 262144 bytes");
  EXPECT_EQ(kind_of(oversize), "oversize") << oversize;
  const auto cut = ask(host, R"({"req":"stats","args":{"fault":"close-mid-line"}})");
  EXPECT_EQ(relay_error(cut), "scheduler closed the connection");
  EXPECT_EQ(kind_of(cut), "closed") << cut;
}

TEST_F(RelayProcess, QueueFullLinesNameTheirKind) {
  start_scheduler({"--fault", "delay:20"});
  start_relay();
  auto host = next_session();
  std::string burst;
  for (int i = 0; i < 70; ++i) burst += std::string(kStats) + "\n";
  ASSERT_TRUE(host.write(burst));
  std::string last;
  for (int i = 0; i < 70; ++i) last = host.read_line().value_or("");
  EXPECT_EQ(relay_error(last), "relay queue full (64 requests waiting)");
  EXPECT_EQ(kind_of(last), "queue_full") << last;
}

// The relay has no log file to reopen: a hangup (its terminal or session
// going away) must not stop it.
TEST_F(RelayProcess, SighupIsIgnored) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1);
  relay->signal(SIGHUP);
  // The signal is pending before the relay can read this request.
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 2);
  EXPECT_EQ(::kill(relay->pid(), 0), 0);
  relay->signal(SIGTERM);
  EXPECT_EQ(relay->wait(5s), 0);
}

// Started with 0, 1 and 2 closed (a careless init script), the relay puts
// /dev/null there first, so that no socket or port takes those numbers and
// gets log lines written into it.
TEST_F(RelayProcess, ClosedStandardDescriptorsAreReservedFirst) {
  start_scheduler();
  relay.emplace(Process::spawn({"/bin/sh", "-c", "exec \"$@\" <&- >&- 2>&-", "sh",
                                program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", port_socket,
                                "--socket", scheduler_socket, "--log-level", "trace"}));
  auto host = next_session();
  EXPECT_EQ(field(payload(ask(host, kStats)), "nr_cpus"), 4);
  EXPECT_EQ(field(payload(ask(host, kLayers)).at("batch"), "nr_tasks"), 3);
  for (int fd = 0; fd <= 2; ++fd) {
    const auto link = "/proc/" + std::to_string(relay->pid()) + "/fd/" + std::to_string(fd);
    char target[256] = {};
    ASSERT_GT(::readlink(link.c_str(), target, sizeof target - 1), 0) << link;
    EXPECT_STREQ(target, "/dev/null") << "descriptor " << fd;
  }
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

// The relay connects to the scheduler when the host syncs, before its
// first request: a greeting the scheduler sends on accept then comes while
// nothing is in flight and is dropped, not taken for the answer.
TEST_F(ScriptedScheduler, GreetingOnAcceptIsNotTakenForTheFirstAnswer) {
  start_relay({"--log-level", "debug"});
  auto host = next_session();
  EXPECT_NE(ask(host, encode_sync_request("n1")).find("\"n1\""), std::string::npos);
  auto scheduler_side = accept_relay();
  ASSERT_TRUE(scheduler_side.send_line(R"({"unsolicited":true})"));
  ASSERT_TRUE(relay->wait_for_stderr("with no request in flight")) << relay->stderr_text();
  ASSERT_TRUE(host.send_line(kStats));
  ASSERT_EQ(scheduler_side.read_line(), kStats);
  ASSERT_TRUE(scheduler_side.send_line(kAnswerOne));
  EXPECT_EQ(host.read_line(), kAnswerOne);
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

// What ktstats-relay(8) says the default level records: nothing for an
// answered request, one warning for each answer that did not come in time.
TEST_F(RelayProcess, DefaultLogLevelWarnsPerTimeoutAndIsSilentPerAnswer) {
  start_scheduler();
  start_relay({"--response-timeout", "300ms"});
  auto host = next_session();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(relay_error(ask(host, kStats)), "");
  EXPECT_EQ(relay_error(ask(host, R"({"req":"stats","args":{"fault":"delay:900"}})")),
            "no response from the scheduler within 300ms");
  ASSERT_TRUE(relay->wait_for_stderr("gave no response within 300ms")) << relay->stderr_text();
  const std::string log = relay->stderr_text();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_NE(log.find("info: serving"), std::string::npos) << log;
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

// Two hosts, one after the other, on a port that never shows the first one
// leaving (as a virtio port may not, when the next host attaches before a
// loaded guest runs the relay): the second host's sync line, with its own
// nonce, gives it its own scheduler connection.
TEST_F(RelayProcess, NewSyncNonceWithoutEofGetsItsOwnSchedulerConnection) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  EXPECT_NE(ask(host, encode_sync_request("first")).find("\"first\""), std::string::npos);
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1);
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 2);
  EXPECT_NE(ask(host, encode_sync_request("second")).find("\"second\""), std::string::npos);
  const auto fresh = payload(ask(host, kStats));
  EXPECT_EQ(field(fresh, "session_reads"), 1) << "the first host's scheduler connection was reused";
  EXPECT_EQ(field(fresh, "total_requests"), 3);
  // ktstats resends its sync line until the echo comes: the same nonce
  // again is the same session.
  EXPECT_NE(ask(host, encode_sync_request("second")).find("\"second\""), std::string::npos);
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 2);
}

TEST_F(ScriptedScheduler, OldSessionsAnswerNeverReachesTheNextHost) {
  start_relay();
  auto host = next_session();
  EXPECT_NE(ask(host, encode_sync_request("first")).find("\"first\""), std::string::npos);
  auto old_link = accept_relay();
  ASSERT_TRUE(host.send_line(kStats));
  ASSERT_EQ(old_link.read_line(), kStats);
  // The first host is gone, its answer not yet given; the next one syncs.
  ASSERT_TRUE(host.send_line(encode_sync_request("second")));
  EXPECT_TRUE(old_link.closed_within(10s)) << "the old session's connection was kept";
  auto new_link = accept_relay();
  const auto echo = host.read_line();
  ASSERT_TRUE(echo.has_value());
  EXPECT_NE(echo->find("\"second\""), std::string::npos) << *echo;
  (void)old_link.send_line(kAnswerOne);  // too late: nobody may get it
  ASSERT_TRUE(host.send_line(kLayers));
  ASSERT_EQ(new_link.read_line(), kLayers);
  ASSERT_TRUE(new_link.send_line(kAnswerTwo));
  EXPECT_EQ(host.read_line(), kAnswerTwo);
}

}  // namespace
}  // namespace ktstats::test
