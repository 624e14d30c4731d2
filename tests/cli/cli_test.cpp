// The ktstats command as a user runs it: a real process against the fake
// scheduler, directly (scx:) and through ktstats-relay behind a VMM-like
// bridge (unix:), a pty and QEMU-style pipes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <boost/json/parse.hpp>

#include "ktstats/relay_line.hpp"
#include "relay_fixture.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::test {
namespace {

class Cli : public RelayFixture {
 protected:
  std::string direct() const { return "scx:" + scheduler_socket; }

  Process spawn(std::vector<std::string> args) {
    args.insert(args.begin(), program("KTSTATS", KTSTATS));
    return Process::spawn(args);
  }

  Outcome run(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
    args.insert(args.begin(), program("KTSTATS", KTSTATS));
    return run_program(args, timeout);
  }

  boost::json::value json_of(const std::string& text) {
    try {
      return boost::json::parse(text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << text;
      return {};
    }
  }
};

bool has_raw_control(const std::string& text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n') || c == 0x7F) return true;
  }
  return text.find("\xc2\x9b") != std::string::npos;
}

TEST_F(Cli, StatsAsOneJsonLine) {
  start_scheduler();
  auto r = run({"stats", "--connect", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"nr_cpus":4,"total_requests":1,"requests_delta":1,"session_reads":1,"busy":42.5,)"
            R"("mode":"fake","layers":{"batch":{"util":12.5,"nr_tasks":3,"note":"bulk"},)"
            R"("interactive":{"util":80.25,"nr_tasks":7,"note":"ui"}}})" "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, TargetArgAndGlobalOptionsInEitherPlace) {
  start_scheduler();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"stats", "--target", "layers", "--connect", direct(), "--format", "json"},
           {"--format", "json", "--connect", direct(), "stats", "--arg", "target=layers"},
           {"stats", "--format", "pretty", "--arg", "target=layers", "-c", direct()}}) {
    auto r = run(args);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json_of(r.out).at("interactive").at("nr_tasks").as_int64(), 7);
  }
}

TEST_F(Cli, PrettyIsIndented) {
  start_scheduler();
  auto r = run({"--format", "pretty", "stats", "--target", "layers", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\n  \"batch\": {\n    \"util\": 12.5,\n    \"nr_tasks\": 3,", 0), 0u)
      << r.out;
}

TEST_F(Cli, EnvironmentNamesTheEndpoint) {
  start_scheduler();
  ::setenv("KTSTATS_CONNECT", direct().c_str(), 1);
  auto r = run({"meta"});
  ::unsetenv("KTSTATS_CONNECT");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_of(r.out).at("LayerStats").at("user").at("_om_label").as_string(), "layer_name");
}

TEST_F(Cli, RawSendsTheLineAsGiven) {
  start_scheduler();
  auto r = run({"raw", R"({"req":"stats","args":{"target":"bogus"}})", "-c", direct()});
  EXPECT_EQ(r.status, 65) << r.err;  // printed, and the errno still fails the command
  EXPECT_EQ(r.out, R"({"errno":22,"args":{"resp":"Unknown target \"bogus\""}})" "\n");
}

TEST_F(Cli, SchedulerErrorExits65WithTheErrnoByName) {
  start_scheduler();
  auto r = run({"stats", "--target", "nope", "-c", direct()});
  EXPECT_EQ(r.status, 65);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "ktstats: scheduler returned EINVAL (Invalid argument): Unknown target \"nope\" "
            "(check --target and --arg)\n");
}

TEST_F(Cli, UnreachablePathExits69NamingIt) {
  auto r = run({"stats", "-c", "scx:" + dir / "absent"});
  EXPECT_EQ(r.status, 69);
  EXPECT_NE(r.err.find("connect to " + dir / "absent" + ": ENOENT"), std::string::npos) << r.err;
}

TEST_F(Cli, UsageErrorsExit64) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"stats", "--arg", "novalue"},
           {"stats", "--arg", "=x"},
           {"stats", "--connect", "/run/vm.sock"},
           {"stats", "--timeout", "soon"},
           {"stats", "--format", "xml"},
           {"nosuchcommand"},
           {}}) {
    auto r = run(args);
    EXPECT_EQ(r.status, 64) << (args.empty() ? "" : args.back()) << ": " << r.err;
    EXPECT_EQ(r.err.rfind("ktstats: ", 0), 0u) << r.err;
  }
  EXPECT_NE(run({"stats", "--connect", "/run/vm.sock"}).err.find("did you mean unix:/run/vm.sock?"),
            std::string::npos);
  // What the user typed is quoted back with its control characters escaped.
  for (const auto& args : std::vector<std::vector<std::string>>{{"stats", "--connect", "\x1b]0;x\x07"},
                                                                {"stats", "--arg", "\x1b[2J"}}) {
    auto r = run(args);
    EXPECT_EQ(r.status, 64);
    EXPECT_NE(r.err.find("\\x1b"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
  }
}

TEST_F(Cli, HelpAndVersion) {
  auto help = run({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("watch"), std::string::npos);
  auto sub = run({"stats", "--help"});
  EXPECT_EQ(sub.status, 0);
  EXPECT_NE(sub.out.find("--target"), std::string::npos);
  auto version = run({"--version"});
  EXPECT_EQ(version.out, std::string("ktstats ") + KTSTATS_VERSION + "\n");
}

TEST_F(Cli, GarbageIsAProtocolErrorShownEscaped) {
  start_scheduler({"--fault", "garbage"});
  auto r = run({"stats", "-c", direct()});
  EXPECT_EQ(r.status, 76);
  EXPECT_NE(r.err.find(R"(\x1b[2J not json \x07)"), std::string::npos) << r.err;
  EXPECT_FALSE(has_raw_control(r.err));
}

TEST_F(Cli, ControlCharactersNeverReachTheTerminal) {
  start_scheduler({"--fault", "control"});
  for (const char* format : {"json", "pretty"}) {
    auto r = run({"stats", "--format", format, "-c", direct()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(has_raw_control(r.out)) << r.out;
    EXPECT_EQ(json_of(r.out).as_string(), "\x1b]0;owned\x07\xc2\x9b" "2J\x7f");
  }
}

TEST_F(Cli, OversizeLineIsResponseTooLarge) {
  start_scheduler({"--fault", "oversize:300000"});
  auto r = run({"stats", "-c", direct()});
  EXPECT_EQ(r.status, 76);
  EXPECT_NE(r.err.find("response line reached"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(cap 262144)"), std::string::npos) << r.err;
}

TEST_F(Cli, NoNewlineThenCloseIsATransportError) {
  start_scheduler({"--fault", "no-newline"});
  auto r = run({"stats", "-c", direct()});
  EXPECT_EQ(r.status, 74);
  EXPECT_NE(r.err.find("closed the connection while waiting for the answer"), std::string::npos)
      << r.err;
}

TEST_F(Cli, SilentSchedulerTimesOut) {
  start_scheduler({"--fault", "silent"});
  auto r = run({"stats", "--timeout", "300ms", "-c", direct()});
  EXPECT_EQ(r.status, 75);
  EXPECT_EQ(r.err,
            "ktstats: no answer within 300 ms (waiting for the answer) (the guest or scheduler "
            "is slow or stuck; raise --timeout to wait longer)\n");
}

TEST_F(Cli, CtrlCCancelsAnInFlightRequestPromptly) {
  start_scheduler({"--fault", "silent", "--announce"});
  auto cli = spawn({"stats", "--timeout", "60s", "-c", direct()});
  ASSERT_TRUE(scheduler->read_line().has_value());  // the request is in flight
  cli.signal(SIGINT);
  EXPECT_EQ(cli.wait(2s), 130);
  EXPECT_NE(cli.stderr_text().find("request cancelled"), std::string::npos);
}

TEST_F(Cli, WatchKeepsOneConnectionAndStampsSamples) {
  start_scheduler();
  auto r = run({"watch", "--interval", "50ms", "--count", "3", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<boost::json::value> samples;
  for (std::size_t start = 0, end; (end = r.out.find('\n', start)) != std::string::npos;
       start = end + 1) {
    samples.push_back(json_of(r.out.substr(start, end - start)));
  }
  ASSERT_EQ(samples.size(), 3u);
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(samples[i].at("stats").at("session_reads").as_int64(), i + 1);
    EXPECT_EQ(samples[i].at("timestamp").as_string().size(), 24u);
  }
}

TEST_F(Cli, WatchStopsOnCtrlCWithStatusZero) {
  start_scheduler();
  auto cli = spawn({"watch", "--interval", "10s", "-c", direct()});
  ASSERT_TRUE(cli.read_line().has_value());  // the first sample
  cli.signal(SIGINT);
  EXPECT_EQ(cli.wait(2s), 0);
}

// -n counts samples: failed attempts are reported and do not count.
TEST_F(Cli, WatchKeepsGoingWhenTheSchedulerRestarts) {
  start_scheduler();
  auto cli = spawn({"watch", "--interval", "50ms", "--count", "3", "-c", direct()});
  ASSERT_TRUE(cli.read_line().has_value());
  stop_scheduler();
  ASSERT_TRUE(cli.wait_for_stderr("connect to " + scheduler_socket)) << cli.stderr_text();
  start_scheduler();
  ASSERT_TRUE(cli.read_line().has_value()) << cli.stderr_text();
  ASSERT_TRUE(cli.read_line().has_value()) << cli.stderr_text();
  EXPECT_EQ(cli.wait(5s), 0);
  EXPECT_EQ(cli.read_all(), "");
}

TEST_F(Cli, WatchKeepsGoingThroughTimeoutsUntilCtrlC) {
  start_scheduler({"--fault", "delay:400"});
  auto cli = spawn({"watch", "--interval", "10ms", "--timeout", "100ms", "-c", direct()});
  ASSERT_TRUE(cli.wait_for_stderr("no answer within 100 ms")) << cli.stderr_text();
  cli.signal(SIGINT);
  EXPECT_EQ(cli.wait(5s), 0) << cli.stderr_text();
  EXPECT_EQ(cli.read_all(), "");
}

TEST_F(Cli, WatchEndsOnAnErrorThatWouldRecur) {
  start_scheduler();
  auto r = run({"watch", "--target", "nope", "--interval", "10ms", "-c", direct()});
  EXPECT_EQ(r.status, 65) << r.err;
  EXPECT_EQ(r.out, "");
}

// ktstats serve answers so while its VM is unreachable or restarting.
TEST_F(Cli, WatchKeepsGoingThroughAnswersSayingTryAgain) {
  start_scheduler({"--fault", "errno:" + std::to_string(ENOTCONN)});
  auto cli = spawn({"watch", "--interval", "10ms", "-c", direct()});
  ASSERT_TRUE(cli.wait_for_stderr("fake: failing as asked")) << cli.stderr_text();
  cli.signal(SIGINT);
  EXPECT_EQ(cli.wait(5s), 0) << cli.stderr_text();
  EXPECT_EQ(cli.read_all(), "");
}

TEST_F(Cli, AnswerSayingTryAgainExitsWithTheStatusOfItsFault) {
  start_scheduler({"--fault", "errno:" + std::to_string(ENOTCONN)});
  auto r = run({"stats", "--target", "layers", "-c", direct()});
  EXPECT_EQ(r.status, 69) << r.err;
  EXPECT_NE(r.err.find("(try again later)"), std::string::npos) << r.err;
  stop_scheduler();
  start_scheduler({"--fault", "errno:" + std::to_string(EBUSY)});
  r = run({"stats", "-c", direct()});
  EXPECT_EQ(r.status, 75) << r.err;
}

TEST_F(Cli, WatchEndsOnAnAnswerSayingTheRequestIsWrong) {
  start_scheduler({"--fault", "errno:" + std::to_string(EINVAL)});
  auto r = run({"watch", "--interval", "10ms", "-c", direct()});
  EXPECT_EQ(r.status, 65) << r.err;
  EXPECT_NE(r.err.find("fake: failing as asked"), std::string::npos) << r.err;
}

TEST_F(Cli, PingNeedsARelay) {
  auto r = run({"ping", "-c", direct()});
  EXPECT_EQ(r.status, 64);
}

// Through ktstats-relay, behind a bridge that behaves like QEMU's socket.
class CliRelay : public Cli {
 protected:
  void SetUp() override {
    port.close();  // the bridge listens on the relay's port instead
    bridge.emplace(vm_socket, port_socket);
    start_relay();
  }
  std::string vm() const { return "unix:" + vm_socket; }

  std::string vm_socket = dir / "vm.sock";
  std::optional<VmmBridge> bridge;
};

TEST_F(CliRelay, StatsMetaRawAndPing) {
  start_scheduler();
  auto stats = run({"stats", "-c", vm()});
  ASSERT_EQ(stats.status, 0) << stats.err;
  EXPECT_EQ(json_of(stats.out).at("nr_cpus").as_int64(), 4);
  auto meta = run({"meta", "-c", vm()});
  EXPECT_TRUE(json_of(meta.out).as_object().contains("Metrics"));
  auto raw = run({"raw", R"({"req":"stats_meta"})", "-c", vm()});
  EXPECT_EQ(raw.status, 0);
  auto ping = run({"ping", "--format", "pretty", "-c", vm()});
  ASSERT_EQ(ping.status, 0) << ping.err;
  // The relay under test, or the one KTSTATS_RELAY names (an older one, without sessions).
  EXPECT_EQ(ping.out.rfind("ktstats-relay ", 0), 0u) << ping.out;
  EXPECT_NE(ping.out.find(" via " + vm() + ": "), std::string::npos) << ping.out;
  EXPECT_NE(ping.out.find(" ms\n"), std::string::npos);
  auto ping_json = run({"ping", "-c", vm()});
  const auto info = json_of(ping_json.out);
  if (info.at("max_sessions").is_null()) {
    EXPECT_EQ(info.at("version").as_string().rfind("0.1.", 0), 0u) << ping_json.out;
  } else {
    EXPECT_EQ(info.at("version").as_string(), KTSTATS_VERSION);
    EXPECT_GT(info.at("max_sessions").to_number<std::int64_t>(), 0);
    EXPECT_NE(ping.out.find(" sessions at most) via "), std::string::npos) << ping.out;
  }
}

TEST_F(CliRelay, NoSchedulerInTheGuest) {
  auto r = run({"stats", "-c", vm()});
  EXPECT_EQ(r.status, 69);
  EXPECT_EQ(r.err, "ktstats: no scheduler answered: no scheduler socket at " + scheduler_socket +
                       " (start the scheduler in the guest; the relay answers as soon as its "
                       "socket is there)\n");
  start_scheduler();
  EXPECT_EQ(run({"stats", "-c", vm()}).status, 0);
}

TEST_F(CliRelay, NoSyncWorksThroughTheRelayToo) {
  start_scheduler();
  auto r = run({"stats", "--no-sync", "-c", vm()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_of(r.out).at("nr_cpus").as_int64(), 4);
}

TEST_F(CliRelay, KilledCommandLeavesNoStaleAnswerForTheNext) {
  start_scheduler({"--announce"});
  auto first = spawn({"stats", "--arg", "fault=delay:400", "-c", vm()});
  ASSERT_TRUE(scheduler->read_line().has_value());
  first.signal(SIGKILL);
  auto r = run({"stats", "--target", "layers", "-c", vm()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(json_of(r.out).as_object().contains("batch")) << r.out;
}

TEST_F(CliRelay, BusyPortFailsWithinTheTimeoutSayingWhy) {
  start_scheduler();
  auto holder = spawn({"watch", "--interval", "10s", "-c", vm()});
  ASSERT_TRUE(holder.read_line().has_value());
  auto r = run({"stats", "--timeout", "500ms", "-c", vm()});
  EXPECT_EQ(r.status, 75);
  EXPECT_NE(r.err.find("no other client holding the port"), std::string::npos) << r.err;
  holder.signal(SIGINT);
  EXPECT_EQ(holder.wait(2s), 0);
}

TEST_F(CliRelay, WatchCountsSamplesNotAttemptsWithNoScheduler) {
  auto cli = spawn({"watch", "--interval", "50ms", "--count", "2", "-c", vm()});
  ASSERT_TRUE(cli.wait_for_stderr("no scheduler socket at")) << cli.stderr_text();
  start_scheduler();
  const std::string out = cli.read_all(20s);
  EXPECT_EQ(cli.wait(5s), 0) << cli.stderr_text();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_EQ(json_of(out.substr(0, out.find('\n'))).at("stats").at("nr_cpus").as_int64(), 4);
}

// How a peer that plays the relay answers a host's open line.
enum class Relay {
  kSessions,      // echoes it, as ktstats-relay 0.2 does
  kNoSessions,    // forwards it to the scheduler, which answers with an error (0.1)
  kSessionLimit,  // refuses it: as many sessions open as it allows
};

// A peer that plays the relay on a pty master or QEMU-style pipes until the
// command's request is answered (with sessions, until its close line):
// answers each line as `relay` would, and the request with `answer`.
// Returns the lines the command sent.
std::vector<std::string> play_relay(int read_fd, int write_fd, const std::string& answer,
                                    Relay relay = Relay::kSessions) {
  LineFramer framer;
  std::vector<std::string> lines;
  char buffer[4096];
  for (bool done = false; !done;) {
    pollfd pfd{read_fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10'000) <= 0) break;
    const ssize_t n = ::read(read_fd, buffer, sizeof buffer);
    if (n <= 0) break;
    framer.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    while (auto frame = framer.next()) {
      const auto& line = std::get<std::string>(*frame);
      lines.push_back(line);
      const auto control = decode_control_line(line);
      std::string reply;
      if (const auto* sync = control ? std::get_if<SyncLine>(&*control) : nullptr) {
        reply = encode_sync_reply({sync->nonce, "test"});
      } else if (const auto* open = control ? std::get_if<OpenLine>(&*control) : nullptr) {
        if (relay == Relay::kSessions) reply = encode_open_reply({open->id, "test", 64});
        if (relay == Relay::kNoSessions) reply = R"({"errno":22,"args":{"resp":"no \"req\""}})";
        if (relay == Relay::kSessionLimit) {
          reply = encode_relay_error(RelayErrorKind::kSessionLimit, "64 sessions open");
        }
      } else if (control && std::holds_alternative<CloseLine>(*control)) {
        done = true;
        continue;
      } else {
        reply = answer;
        done = relay == Relay::kNoSessions;
      }
      reply += "\n";
      (void)::write(write_fd, reply.data(), reply.size());
    }
  }
  return lines;
}

TEST_F(Cli, PtyBackendInRawMode) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  const std::string slave = ::ptsname(master.get());
  std::vector<std::string> sent;
  std::thread peer([&] {
    sent = play_relay(master.get(), master.get(), R"({"errno":0,"args":{"resp":{"via":"pty"}}})");
  });
  auto r = run({"stats", "-c", "pty:" + slave});
  peer.join();
  ASSERT_EQ(r.status, 0) << r.err;
  // The session's three lines: open, the request, close.
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1], R"({"req":"stats"})");
  // In cooked mode the tty would have turned "\n" into "\r\n" and echoed
  // the request back; raw mode passes bytes as they are.
  EXPECT_EQ(r.out, "{\"via\":\"pty\"}\n");
}

TEST_F(Cli, PipeBackend) {
  const std::string base = dir / "qemu";
  ASSERT_EQ(::mkfifo((base + ".in").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((base + ".out").c_str(), 0600), 0);
  UniqueFd in(::open((base + ".in").c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd out(::open((base + ".out").c_str(), O_RDWR | O_CLOEXEC));
  std::thread peer(play_relay, in.get(), out.get(), R"({"errno":0,"args":{"resp":[1,2]}})",
                   Relay::kSessions);
  auto r = run({"stats", "-c", "pipe:" + base});
  peer.join();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[1,2]\n");
}

// Against a relay that does not know sessions: one fallback to the sync
// line, said at -v, and the command works.
TEST_F(Cli, FallsBackToSyncWithARelayWithoutSessions) {
  const std::string base = dir / "qemu";
  ASSERT_EQ(::mkfifo((base + ".in").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((base + ".out").c_str(), 0600), 0);
  UniqueFd in(::open((base + ".in").c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd out(::open((base + ".out").c_str(), O_RDWR | O_CLOEXEC));
  std::vector<std::string> sent;
  std::thread peer([&] {
    sent = play_relay(in.get(), out.get(), R"({"errno":0,"args":{"resp":[1,2]}})",
                      Relay::kNoSessions);
  });
  auto r = run({"stats", "-v", "-c", "pipe:" + base});
  peer.join();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[1,2]\n");
  EXPECT_NE(r.err.find("relay does not know sessions (older than 0.2?); using sync"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_TRUE(decode_sync_request(sent[1]).has_value()) << sent[1];
  EXPECT_EQ(sent[2], R"({"req":"stats"})");
}

// Past the relay's session limit: exit 75, saying why and what to do.
TEST_F(Cli, SessionLimitExits75WithAHint) {
  const std::string base = dir / "qemu";
  ASSERT_EQ(::mkfifo((base + ".in").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((base + ".out").c_str(), 0600), 0);
  UniqueFd in(::open((base + ".in").c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd out(::open((base + ".out").c_str(), O_RDWR | O_CLOEXEC));
  std::thread peer(play_relay, in.get(), out.get(), "", Relay::kSessionLimit);
  auto r = run({"stats", "-c", "pipe:" + base});
  peer.join();
  EXPECT_EQ(r.status, 75);
  EXPECT_EQ(r.err,
            "ktstats: the relay reports: 64 sessions open (the relay has as many sessions open as "
            "its --max-sessions allows; close some or raise --max-sessions)\n");
}

}  // namespace
}  // namespace ktstats::test

namespace ktstats::test {
namespace {

TEST_F(Cli, TableWithASubTablePerDictOfStructs) {
  start_scheduler();
  auto r = run({"stats", "--format", "table", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "FIELD           VALUE  DESCRIPTION\n"
            "nr_cpus         4      Number of CPUs\n"
            "total_requests  2      Requests served on all connections\n"
            "requests_delta  2      Requests since the previous read on this connection\n"
            "session_reads   1      Reads on this connection\n"
            "busy            42.5   CPU busy percentage\n"
            "mode            fake   Scheduling mode\n"
            "\n"
            "layers: Per-layer statistics\n"
            "KEY           util  nr_tasks  note\n"
            "batch         12.5         3  bulk\n"
            "interactive  80.25         7  ui\n"
            "  util      Layer utilisation\n"
            "  nr_tasks  Tasks in the layer\n"
            "  note      Free text\n");
}

TEST_F(Cli, TableOfATargetThatIsADictIsOneSubTable) {
  start_scheduler();
  auto r = run({"stats", "--format", "table", "--target", "layers", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "LayerStats: One layer\n"
            "KEY           util  nr_tasks  note\n"
            "batch         12.5         3  bulk\n"
            "interactive  80.25         7  ui\n"
            "  util      Layer utilisation\n"
            "  nr_tasks  Tasks in the layer\n"
            "  note      Free text\n");
}

TEST_F(Cli, OpenMetricsGolden) {
  start_scheduler();
  auto r = run({"stats", "--format", "openmetrics", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "# TYPE fake_nr_cpus gauge\n# HELP fake_nr_cpus Number of CPUs\nfake_nr_cpus 4\n"
            "# TYPE fake_total_requests gauge\n"
            "# HELP fake_total_requests Requests served on all connections\n"
            "fake_total_requests 2\n"
            "# TYPE fake_requests_delta gauge\n"
            "# HELP fake_requests_delta Requests since the previous read on this connection\n"
            "fake_requests_delta 2\n"
            "# TYPE fake_session_reads gauge\n"
            "# HELP fake_session_reads Reads on this connection\nfake_session_reads 1\n"
            "# TYPE fake_busy gauge\n# HELP fake_busy CPU busy percentage\nfake_busy 42.5\n"
            "# TYPE fake_layer_util gauge\n# HELP fake_layer_util Layer utilisation\n"
            "fake_layer_util{layer_name=\"batch\"} 12.5\n"
            "fake_layer_util{layer_name=\"interactive\"} 80.25\n"
            "# TYPE fake_layer_nr_tasks gauge\n# HELP fake_layer_nr_tasks Tasks in the layer\n"
            "fake_layer_nr_tasks{layer_name=\"batch\"} 3\n"
            "fake_layer_nr_tasks{layer_name=\"interactive\"} 7\n"
            "# EOF\n");
}

TEST_F(Cli, OpenMetricsPassesARealParser) {
  start_scheduler();
  auto r = run({"stats", "--format", "openmetrics", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  auto checker = Process::spawn({"/usr/bin/python3", KTSTATS_SOURCE_DIR "/tests/cli/check_openmetrics.py"},
                                {.inherit_fds = {}, .stdin_pipe = true});
  ASSERT_EQ(::write(checker.stdin_fd(), r.out.data(), r.out.size()),
            static_cast<ssize_t>(r.out.size()));
  checker.close_stdin();
  const auto parsed = checker.read_all();
  ASSERT_EQ(checker.wait(), 0) << checker.stderr_text();
  EXPECT_EQ(parsed,
            "fake_busy{} 42.5 [CPU busy percentage]\n"
            "fake_layer_nr_tasks{layer_name=\"batch\"} 3 [Tasks in the layer]\n"
            "fake_layer_nr_tasks{layer_name=\"interactive\"} 7 [Tasks in the layer]\n"
            "fake_layer_util{layer_name=\"batch\"} 12.5 [Layer utilisation]\n"
            "fake_layer_util{layer_name=\"interactive\"} 80.25 [Layer utilisation]\n"
            "fake_nr_cpus{} 4 [Number of CPUs]\n"
            "fake_requests_delta{} 2 [Requests since the previous read on this connection]\n"
            "fake_session_reads{} 1 [Reads on this connection]\n"
            "fake_total_requests{} 2 [Requests served on all connections]\n");
}

TEST_F(Cli, MetaDescribeFromTheTopStructDown) {
  start_scheduler();
  auto r = run({"meta", "--describe", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "[Metrics   ] Fake scheduler statistics\n"
            "  nr_cpus        (u64)                 : Number of CPUs\n"
            "  total_requests (u64)                 : Requests served on all connections\n"
            "  requests_delta (u64)                 : Requests since the previous read on this connection\n"
            "  session_reads  (u64)                 : Reads on this connection\n"
            "  busy           (float)               : CPU busy percentage\n"
            "  mode           (string)              : Scheduling mode\n"
            "  layers         ({string:LayerStats}) : Per-layer statistics\n"
            "\n"
            "[LayerStats] One layer\n"
            "  util           (float)               : Layer utilisation\n"
            "  nr_tasks       (i64)                 : Tasks in the layer\n"
            "  note           (string)              : Free text\n");
}

TEST_F(Cli, WatchAsTableStampsEachSample) {
  start_scheduler();
  auto r = run({"watch", "--format", "table", "--count", "2", "--interval", "10ms", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("# 20", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nsession_reads   2 "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ktstats::test
