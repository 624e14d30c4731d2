// ktstats serve as a real process: per VM a local scx_stats socket, with
// ktstats-relay behind a stand-in VMM and upstream's scx_stats programs as
// the guest's scheduler.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "ktstats/json_line.hpp"
#include "line_peer.hpp"
#include "process.hpp"
#include "upstream.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::test {
namespace {

constexpr const char* kStats = R"({"req":"stats"})";

// A VM as serve sees it: the VMM's socket (a stand-in bridge), the relay
// on its guest side, and an upstream scx_stats server as the scheduler.
struct StandInVm {
  StandInVm(const TempDir& dir, const std::string& name)
      : StandInVm(dir, name, dir / (name + "-vm.sock")) {}
  // With its VMM socket where discovery looks.
  StandInVm(const TempDir& dir, const std::string& name, std::string vmm_socket)
      : vm_socket(std::move(vmm_socket)),
        port_socket(dir / (name + "-port")),
        server_socket(dir / (name + "-stats")) {}

  void start_session_server() {
    server.emplace(Process::spawn({*upstream_program("scx_stats/bin/session_server"), server_socket}));
    ASSERT_TRUE(server->wait_for_stderr("ready ")) << server->stderr_text();
  }
  void start_example_server() {
    Process::Options options;
    options.stdin_pipe = true;  // it exits when its stdin ends
    server.emplace(Process::spawn({*upstream_program("scx_stats/bin/server"), server_socket}, options));
    for (;;) {
      auto line = server->read_line();
      ASSERT_TRUE(line.has_value()) << "upstream server did not start: " << server->stderr_text();
      if (line->find("Server listening") != std::string::npos) break;
    }
  }
  void start_port() {
    bridge.emplace(vm_socket, port_socket);
    relay.emplace(Process::spawn(
        {program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", port_socket, "--socket", server_socket}));
  }

  std::string vm_socket;
  std::string port_socket;
  std::string server_socket;
  std::optional<Process> server;
  std::optional<VmmBridge> bridge;
  std::optional<Process> relay;
};

std::string request(const std::string& who, int round) {
  return R"({"req":"stats","args":{"target":"top","who":")" + who + R"(","round":")" +
         std::to_string(round) + "\"}}";
}

boost::json::value parsed(const std::string& answer) {
  auto value = parse_json_line(answer);
  if (!value) {
    ADD_FAILURE() << "not JSON: " << answer;
    return {};
  }
  return *value;
}

std::int64_t errno_of(const std::string& answer) {
  const auto value = parsed(answer);
  const auto* object = value.if_object();
  if (object == nullptr || !object->contains("errno")) return -1;
  return object->at("errno").to_number<std::int64_t>();
}

boost::json::value resp_of(const std::string& answer) {
  const auto value = parsed(answer);
  if (!value.is_object() || !value.as_object().contains("args")) return {};
  return value.at("args").at("resp");
}

std::string resp_text(const std::string& answer) {
  const auto resp = resp_of(answer);
  return resp.is_string() ? std::string(resp.as_string()) : "";
}

std::uint64_t field(const boost::json::value& payload, const char* name) {
  return payload.at(name).to_number<std::uint64_t>();
}

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"scx_stats/bin/session_server", "scx_stats/bin/server"}) {
      if (!upstream_program(name)) {
        GTEST_SKIP() << "upstream " << name << " not found under ../shared/upstream: "
                     << "ktstats serve with upstream's scx_stats not checked";
      }
    }
  }

  StandInVm& add_vm(const std::string& name) {
    return *vms.emplace(name, std::make_unique<StandInVm>(dir, name)).first->second;
  }

  std::string socket_of(const std::string& name) const { return runtime + "/" + name + "/stats"; }

  std::vector<std::string> serve_argv(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {program("KTSTATS", KTSTATS), "serve", "--runtime-dir", runtime,
                                     "--request-timeout", "2s"};
    for (const auto& [name, vm] : vms) {
      argv.push_back("--vm");
      argv.push_back(name + "=unix:" + vm->vm_socket);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // serve, listening for every VM and connected to those whose port is there.
  void start_serve(const std::vector<std::string>& extra = {}) {
    serve.emplace(Process::spawn(serve_argv(extra)));
    for (const auto& [name, vm] : vms) {
      ASSERT_TRUE(serve->wait_for_stderr(name + ": listening on")) << serve->stderr_text();
      if (vm->bridge) {
        ASSERT_TRUE(serve->wait_for_stderr(name + ": connected to")) << serve->stderr_text();
      }
    }
  }

  LinePeer client(const std::string& name = "vm1") { return LinePeer::connect(socket_of(name)); }

  static std::string ask(LinePeer& peer, const std::string& line) {
    if (!peer.send_line(line)) return "";
    return peer.read_line().value_or("");
  }

  TempDir dir;
  std::string runtime = dir / "run";
  std::map<std::string, std::unique_ptr<StandInVm>> vms;
  std::optional<Process> serve;
};

TEST_F(Serve, UpstreamClientRunsUnmodifiedAgainstServesSocket) {
  auto& vm = add_vm("vm1");
  vm.start_example_server();
  vm.start_port();
  start_serve();
  auto run = run_program({*upstream_program("scx_stats/bin/client"), socket_of("vm1")}, 30s);
  ASSERT_EQ(run.status, 0) << run.out << run.err << serve->stderr_text();
  EXPECT_NE(run.out.find("test cluster"), std::string::npos) << run.out;
  // The bad target's error comes back as upstream's server gives it.
  EXPECT_NE(run.out.find("non-existent"), std::string::npos) << run.out;
}

TEST_F(Serve, TwentyClientsAtOnceEachHaveTheirOwnSession) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  constexpr int kClients = 20;
  constexpr int kRounds = 5;
  std::vector<LinePeer> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(client());
  std::vector<std::uint64_t> session(kClients, 0), last_total(kClients, 0);
  for (int round = 0; round < kRounds; ++round) {
    // Every client's request is in flight before any answer is read.
    for (int i = 0; i < kClients; ++i) {
      ASSERT_TRUE(clients[i].send_line(request("c" + std::to_string(i), round)));
    }
    for (int i = 0; i < kClients; ++i) {
      const auto answer = clients[i].read_line();
      ASSERT_TRUE(answer) << "client " << i << " round " << round << serve->stderr_text();
      ASSERT_EQ(errno_of(*answer), 0) << *answer;
      const auto resp = resp_of(*answer);
      // The answer to this client's own request...
      EXPECT_EQ(resp.at("args").at("who"), boost::json::value("c" + std::to_string(i)));
      EXPECT_EQ(resp.at("args").at("round"), boost::json::value(std::to_string(round)));
      // ...read on its own scheduler connection.
      EXPECT_EQ(field(resp, "session_reads"), static_cast<std::uint64_t>(round + 1));
      if (round == 0) {
        session[i] = field(resp, "session_id");
      } else {
        EXPECT_EQ(field(resp, "session_id"), session[i]);
        EXPECT_EQ(field(resp, "reads_delta"), field(resp, "total_reads") - last_total[i]);
      }
      last_total[i] = field(resp, "total_reads");
    }
  }
  EXPECT_EQ(std::set<std::uint64_t>(session.begin(), session.end()).size(),
            static_cast<std::size_t>(kClients));
}

TEST_F(Serve, OneVmsOutageIsAnsweredWithErrorsAndTheOtherNeverNotices) {
  auto& vm1 = add_vm("vm1");
  auto& vm2 = add_vm("vm2");
  for (auto* vm : {&vm1, &vm2}) {
    vm->start_session_server();
    vm->start_port();
  }
  start_serve();
  auto a = client("vm1");
  auto b = client("vm2");
  ASSERT_EQ(errno_of(ask(a, kStats)), 0);
  const auto b_first = ask(b, kStats);
  ASSERT_EQ(errno_of(b_first), 0);
  const auto b_session = field(resp_of(b_first), "session_id");
  std::uint64_t b_reads = 1;
  auto b_still_fine = [&] {
    const auto answer = ask(b, kStats);
    ASSERT_EQ(errno_of(answer), 0) << answer;
    EXPECT_EQ(field(resp_of(answer), "session_id"), b_session);
    EXPECT_EQ(field(resp_of(answer), "session_reads"), ++b_reads);
  };

  // vm1's relay killed with a request in flight (its scheduler stopped, so
  // the request cannot be answered first).
  ASSERT_TRUE(vm1.server->stop());
  ASSERT_TRUE(a.send_line(kStats));
  vm1.relay->signal(SIGKILL);
  ASSERT_TRUE(vm1.relay->wait());
  b_still_fine();
  const auto timed_out = a.read_line();
  ASSERT_TRUE(timed_out) << serve->stderr_text();
  EXPECT_EQ(errno_of(*timed_out), ETIMEDOUT) << *timed_out;
  EXPECT_EQ(resp_text(*timed_out).rfind("vm1: ", 0), 0u) << *timed_out;
  // While it does not answer, a request is answered at once.
  const auto meanwhile = ask(a, kStats);
  EXPECT_NE(errno_of(meanwhile), 0) << meanwhile;
  EXPECT_NE(resp_text(meanwhile).find("vm1"), std::string::npos) << meanwhile;
  b_still_fine();

  // The relay back: serve finds where the stream stands, and vm1 answers.
  vm1.server->signal(SIGCONT);
  vm1.relay.reset();
  vm1.relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port",
                                    vm1.port_socket, "--socket", vm1.server_socket}));
  ASSERT_TRUE(serve->wait_for_stderr("vm1: the relay in the VM answers again")) << serve->stderr_text();
  const auto back = ask(a, kStats);
  EXPECT_EQ(errno_of(back), 0) << back;
  b_still_fine();

  // The VMM restarted: its socket removed, then made again.
  ASSERT_EQ(::unlink(vm1.vm_socket.c_str()), 0);
  vm1.bridge.reset();
  vm1.relay.reset();
  ASSERT_TRUE(serve->wait_for_stderr("vm1: waiting for the VM's port")) << serve->stderr_text();
  const auto down = ask(a, kStats);
  EXPECT_EQ(errno_of(down), ENOTCONN) << down;
  EXPECT_NE(resp_text(down).find("vm1: waiting for the VM's port"), std::string::npos) << down;
  b_still_fine();
  vm1.start_port();
  ASSERT_TRUE(serve->wait_for_stderr("(connection 2)")) << serve->stderr_text();
  const auto again = ask(a, kStats);
  EXPECT_EQ(errno_of(again), 0) << again;
  b_still_fine();
}

TEST_F(Serve, APausedVmWithEverySessionHeldAnswersAgainWithoutANewConnection) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  // The relay's 64 sessions, all held by serve's clients.
  std::vector<LinePeer> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(client());
    const auto answer = ask(clients.back(), kStats);
    ASSERT_EQ(errno_of(answer), 0) << i << ": " << answer << serve->stderr_text();
  }
  // The VM paused past the request timeout with a request in flight.
  ASSERT_TRUE(vm.relay->stop());
  ASSERT_TRUE(clients[0].send_line(kStats));
  const auto timed_out = clients[0].read_line();
  ASSERT_TRUE(timed_out) << serve->stderr_text();
  EXPECT_EQ(errno_of(*timed_out), ETIMEDOUT) << *timed_out;
  vm.relay->signal(SIGCONT);
  ASSERT_TRUE(serve->wait_for_stderr("vm1: the relay in the VM answers again")) << serve->stderr_text();
  for (auto* peer : {&clients[0], &clients[63]}) {
    const auto answer = ask(*peer, kStats);
    EXPECT_EQ(errno_of(answer), 0) << answer << serve->stderr_text();
  }
  EXPECT_EQ(serve->stderr_text().find("(connection 2)"), std::string::npos) << serve->stderr_text();
}

TEST_F(Serve, AClientThatShutsDownItsSendingSideGetsItsAnswersThenEof) {
  // As `echo '{"req":"stats"}' | socat - UNIX-CONNECT:...` does.
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  auto peer = client();
  ASSERT_TRUE(peer.write(std::string(kStats) + "\n" + kStats + "\n"));
  ASSERT_EQ(::shutdown(peer.fd(), SHUT_WR), 0);
  for (int i = 0; i < 2; ++i) {
    const auto answer = peer.read_line();
    ASSERT_TRUE(answer) << i << serve->stderr_text();
    EXPECT_EQ(errno_of(*answer), 0) << *answer;
  }
  EXPECT_TRUE(peer.closed_within(10s));
  // Its session closed with it: another client is served as before.
  auto other = client();
  EXPECT_EQ(errno_of(ask(other, kStats)), 0);
}

// CPU time a process has used, in clock ticks.
long cpu_ticks(pid_t pid) {
  FILE* file = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (file == nullptr) return -1;
  char text[1024] = {};
  const std::size_t got = std::fread(text, 1, sizeof text - 1, file);
  std::fclose(file);
  // Fields 14 and 15, utime and stime, after the parenthesised name.
  const char* at = std::strrchr(text, ')');
  if (at == nullptr || got == 0) return -1;
  long utime = 0, stime = 0;
  if (std::sscanf(at + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2) {
    return -1;
  }
  return utime + stime;
}

TEST_F(Serve, OutOfDescriptorsClientsAreClosedAtOnceWithoutSpinning) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "prlimit not installed";
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  auto argv = serve_argv({});
  argv.insert(argv.begin(), {"/usr/bin/prlimit", "--nofile=40:40", "--"});
  serve.emplace(Process::spawn(argv));
  ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to")) << serve->stderr_text();
  std::vector<LinePeer> crowd;
  for (int i = 0; i < 60; ++i) crowd.push_back(client());
  ASSERT_TRUE(serve->wait_for_stderr("a client closed at once")) << serve->stderr_text();
  // Those past the limit were closed; serve is not spinning on its listener.
  const long before = cpu_ticks(serve->pid());
  std::this_thread::sleep_for(1s);  // a measurement, not a wait for an event
  const long used = cpu_ticks(serve->pid()) - before;
  EXPECT_LT(used, 30) << "serve used " << used << " ticks in 1 s";
  crowd.clear();
  for (int tries = 0;; ++tries) {
    ASSERT_LT(tries, 100) << serve->stderr_text();
    auto peer = client();
    const auto answer = ask(peer, kStats);
    if (answer.empty()) continue;  // closed at once: the crowd's fds not freed yet
    EXPECT_EQ(errno_of(answer), 0) << answer;
    break;
  }
}

TEST_F(Serve, TheOpenFilesSoftLimitIsRaisedToTheHardOne) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "prlimit not installed";
  add_vm("vm1");
  auto argv = serve_argv({});
  argv.insert(argv.begin(), {"/usr/bin/prlimit", "--nofile=64:512", "--"});
  serve.emplace(Process::spawn(argv));
  ASSERT_TRUE(serve->wait_for_stderr("vm1: listening on")) << serve->stderr_text();
  FILE* file = std::fopen(("/proc/" + std::to_string(serve->pid()) + "/limits").c_str(), "r");
  ASSERT_NE(file, nullptr);
  char line[256];
  std::string open_files;
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::strncmp(line, "Max open files", 14) == 0) open_files = line;
  }
  std::fclose(file);
  EXPECT_NE(open_files.find(" 512 "), std::string::npos) << open_files;
  EXPECT_EQ(open_files.find(" 64 "), std::string::npos) << open_files;
}

TEST_F(Serve, GarbageAndControlLinesGetUpstreamsInvalidAnswerAndTheClientStays) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  auto other = client();
  const auto first = ask(other, kStats);
  ASSERT_EQ(errno_of(first), 0) << first;
  const auto other_session = field(resp_of(first), "session_id");

  auto peer = client();
  // serve names sessions c1, c2, ...: the other client's is among them.
  for (const std::string line :
       {"garbage", "", "   ", R"({"ktstats_select":"c1"})", R"({"ktstats_close":"c1"})",
        R"({"ktstats_open":"c1"})", R"({"ktstats_sync":"n1"})", R"({"req":"stats_meta","x":[)"}) {
    const auto answer = ask(peer, line);
    EXPECT_EQ(errno_of(answer), EINVAL) << "'" << line << "': " << answer;
    EXPECT_TRUE(resp_of(answer).is_string()) << answer;
  }
  // Pipelined: answered in the order asked, serve's own answer in its turn.
  ASSERT_TRUE(peer.write(std::string(kStats) + "\n" + R"({"ktstats_select":"c1"})" + "\n" +
                         kStats + "\n"));
  for (const int expected : {0, EINVAL, 0}) {
    const auto answer = peer.read_line();
    ASSERT_TRUE(answer);
    EXPECT_EQ(errno_of(*answer), expected) << *answer;
  }
  const auto still = ask(other, kStats);
  EXPECT_EQ(field(resp_of(still), "session_id"), other_session) << still;
  EXPECT_EQ(field(resp_of(still), "session_reads"), 2u) << still;
  // Invalid UTF-8: upstream's server closes the connection; so does serve.
  ASSERT_TRUE(peer.write("{\"req\":\"\xff\"}\n"));
  EXPECT_TRUE(peer.closed_within(10s));
}

TEST_F(Serve, AnUnreachableVmIsAnsweredAtOnceAndServedWhenItsSocketAppears) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  start_serve();
  auto peer = client();
  const auto answer = ask(peer, kStats);
  EXPECT_EQ(errno_of(answer), ENOTCONN) << answer;
  EXPECT_EQ(resp_text(answer).rfind("vm1: ", 0), 0u) << answer;
  vm.start_port();  // inotify, not a poll, finds it
  ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to")) << serve->stderr_text();
  EXPECT_EQ(errno_of(ask(peer, kStats)), 0);
}

TEST_F(Serve, PastMaxClientsAClientGetsAnErrorAnswerAndIsClosed) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve({"--max-clients", "2"});
  auto first = client();
  auto second = client();
  ASSERT_EQ(errno_of(ask(first, kStats)), 0);
  ASSERT_EQ(errno_of(ask(second, kStats)), 0);
  auto third = client();
  const auto refused = third.read_line();
  ASSERT_TRUE(refused) << serve->stderr_text();
  EXPECT_EQ(errno_of(*refused), EUSERS) << *refused;
  EXPECT_TRUE(third.closed_within(10s));
  first.close();
  // A place is free again once a client leaves.
  for (int tries = 0;; ++tries) {
    ASSERT_LT(tries, 1000);
    auto fourth = client();
    const auto answer = ask(fourth, kStats);
    if (errno_of(answer) == 0) break;
    ASSERT_EQ(errno_of(answer), EUSERS) << answer;  // serve had not seen the first leave yet
  }
}

TEST_F(Serve, AClientThatStopsReadingIsDroppedAndTheOthersGoOn) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  auto stuck = client();
  auto other = client();
  // Requests sent and no answer read, until serve stops taking its
  // requests (its answers fill the socket and serve's bound for it)...
  std::string burst;
  for (int i = 0; i < 16; ++i) burst += R"({"req":"stats_meta"})" "\n";
  for (int round = 0;; ++round) {
    ASSERT_LT(round, 10000) << "serve never stopped reading a client that does not read";
    if (::send(stuck.fd(), burst.data(), burst.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    ASSERT_EQ(errno_of(ask(other, kStats)), 0);
  }
  // ...then drops it after a request timeout without progress.
  ASSERT_TRUE(serve->wait_for_stderr("dropped: it")) << serve->stderr_text();
  EXPECT_EQ(errno_of(ask(other, kStats)), 0);
}

TEST_F(Serve, SigtermRemovesTheSocketsAndExitsZero) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  auto peer = client();
  ASSERT_EQ(errno_of(ask(peer, kStats)), 0);
  serve->signal(SIGTERM);
  EXPECT_EQ(serve->wait(), 0) << serve->stderr_text();
  struct stat status {};
  EXPECT_NE(::lstat(socket_of("vm1").c_str(), &status), 0);
  EXPECT_NE(::lstat((runtime + "/vm1").c_str(), &status), 0);
  EXPECT_NE(::lstat(runtime.c_str(), &status), 0);  // made by serve, so removed
}

TEST_F(Serve, SocketsAndDirectoriesGetTheirModes) {
  add_vm("vm1").start_session_server();
  start_serve();
  struct stat status {};
  ASSERT_EQ(::lstat(runtime.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0750u);
  ASSERT_EQ(::lstat((runtime + "/vm1").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0750u);
  ASSERT_EQ(::lstat(socket_of("vm1").c_str(), &status), 0);
  EXPECT_TRUE(S_ISSOCK(status.st_mode));
  EXPECT_EQ(status.st_mode & 07777, 0660u);
}

class ServeRefuses : public Serve {
 protected:
  // serve must exit 73 at once, saying why, and leave the path alone.
  void expect_refusal(const std::string& why) {
    auto run = run_program(serve_argv({}), 30s);
    EXPECT_EQ(run.status, 73) << run.err;
    EXPECT_NE(run.err.find(why), std::string::npos) << run.err;
  }
};

TEST_F(ServeRefuses, APathThatIsNotASocket) {
  add_vm("vm1");
  ASSERT_EQ(::mkdir(runtime.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((runtime + "/vm1").c_str(), 0750), 0);
  FILE* file = std::fopen(socket_of("vm1").c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("keep", file);
  std::fclose(file);
  expect_refusal("is not a socket");
  struct stat status {};
  ASSERT_EQ(::lstat(socket_of("vm1").c_str(), &status), 0);
  EXPECT_TRUE(S_ISREG(status.st_mode));
}

TEST_F(ServeRefuses, ASymlinkWhereItsDirectoryGoes) {
  add_vm("vm1");
  ASSERT_EQ(::mkdir(runtime.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((dir / "elsewhere").c_str(), 0750), 0);
  ASSERT_EQ(::symlink((dir / "elsewhere").c_str(), (runtime + "/vm1").c_str()), 0);
  expect_refusal("is not a directory");
  struct stat status {};
  EXPECT_NE(::lstat((dir / "elsewhere/stats").c_str(), &status), 0);
}

TEST_F(ServeRefuses, ASocketSomeoneListensOnButTakesAStaleOne) {
  add_vm("vm1").start_session_server();
  ASSERT_EQ(::mkdir(runtime.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((runtime + "/vm1").c_str(), 0750), 0);
  {
    Listener live(socket_of("vm1"));
    expect_refusal("another process listens on");
  }
  // The listener closed: a stale socket, left behind, is taken over.
  struct stat status {};
  ASSERT_EQ(::lstat(socket_of("vm1").c_str(), &status), 0);
  start_serve();
  auto peer = client();
  EXPECT_EQ(errno_of(ask(peer, kStats)), ENOTCONN);
}

TEST_F(ServeRefuses, ARuntimeDirectoryItsGroupMayWriteIn) {
  add_vm("vm1");
  ASSERT_EQ(::mkdir(runtime.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(runtime.c_str(), 0770), 0);
  expect_refusal("is writable by its group");
  struct stat status {};
  EXPECT_NE(::lstat((runtime + "/vm1").c_str(), &status), 0);
}

TEST_F(ServeRefuses, ASocketWhoseListenerAcceptsNothingWithoutHanging) {
  add_vm("vm1");
  ASSERT_EQ(::mkdir(runtime.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((runtime + "/vm1").c_str(), 0750), 0);
  // A frozen listener: its backlog full, so a blocking connect would wait.
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const auto path = socket_of("vm1");
  ASSERT_LT(path.size(), sizeof address.sun_path);
  std::memcpy(address.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 0), 0);
  std::vector<UniqueFd> queued;
  for (;;) {
    ASSERT_LT(queued.size(), 1000u);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    queued.push_back(std::move(fd));
  }
  auto run = run_program(serve_argv({}), 10s);
  ASSERT_TRUE(run.status.has_value()) << "serve hung on a listener that accepts nothing";
  EXPECT_EQ(run.status, 73) << run.err;
  EXPECT_NE(run.err.find("another process listens on"), std::string::npos) << run.err;
}

TEST_F(Serve, ARelayWithoutSessionsServesOneClientAtATime) {
  // socat in the VMM's place, straight to the scheduler: no relay at all.
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  if (::access("/usr/bin/socat", X_OK) != 0) GTEST_SKIP() << "socat not installed";
  Process socat = Process::spawn({"/usr/bin/socat", "UNIX-LISTEN:" + vm.vm_socket + ",fork",
                                  "UNIX-CONNECT:" + vm.server_socket});
  start_serve();
  ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to")) << serve->stderr_text();
  auto first = client();
  auto second = client();
  const auto answer = ask(first, kStats);
  ASSERT_EQ(errno_of(answer), 0) << answer << serve->stderr_text();
  ASSERT_TRUE(serve->wait_for_stderr("does not speak sessions")) << serve->stderr_text();
  // The second waits while the first is served, and is served once it goes.
  ASSERT_TRUE(second.send_line(kStats));
  first.close();
  const auto later = second.read_line();
  ASSERT_TRUE(later) << serve->stderr_text();
  EXPECT_EQ(errno_of(*later), 0) << *later;
  auto third = client();
  EXPECT_EQ(errno_of(ask(third, kStats)), EBUSY);  // the second is still there
}

TEST_F(Serve, ClientsReachAVmByName) {
  auto& vm = add_vm("vm1");
  vm.start_session_server();
  vm.start_port();
  start_serve();
  ::setenv("KTSTATS_RUNTIME_DIR", runtime.c_str(), 1);
  auto run = run_program({program("KTSTATS", KTSTATS), "-c", "vm:vm1", "stats"}, 30s);
  ::unsetenv("KTSTATS_RUNTIME_DIR");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("session_id"), std::string::npos) << run.out;
}

class ServeConfig : public Serve {
 protected:
  void write_config(const std::string& text) {
    FILE* file = std::fopen(config.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs(text.c_str(), file);
    std::fclose(file);
  }
  std::string vm_line(const std::string& name) {
    return name + " = \"unix:" + vms.at(name)->vm_socket + "\"\n";
  }
  std::vector<std::string> argv() const {
    return {program("KTSTATS", KTSTATS), "serve", "--runtime-dir", runtime, "--request-timeout",
            "2s", "--config", config};
  }
  std::string config = dir / "serve.toml";
};

TEST_F(ServeConfig, SighupAddsAndRemovesVmsWithoutDisturbingTheOthers) {
  for (const char* name : {"vm1", "vm2"}) {
    auto& vm = add_vm(name);
    vm.start_session_server();
    vm.start_port();
  }
  write_config("[vms]\n" + vm_line("vm1"));
  serve.emplace(Process::spawn(argv()));
  ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to")) << serve->stderr_text();
  auto a = client("vm1");
  const auto first = ask(a, kStats);
  ASSERT_EQ(errno_of(first), 0) << first;
  const auto session = field(resp_of(first), "session_id");
  std::uint64_t reads = 1;
  auto a_undisturbed = [&] {
    const auto answer = ask(a, kStats);
    ASSERT_EQ(errno_of(answer), 0) << answer;
    EXPECT_EQ(field(resp_of(answer), "session_id"), session);
    EXPECT_EQ(field(resp_of(answer), "session_reads"), ++reads);
  };

  write_config("[vms]\n" + vm_line("vm1") + vm_line("vm2"));
  serve->signal(SIGHUP);
  ASSERT_TRUE(serve->wait_for_stderr("vm2: connected to")) << serve->stderr_text();
  auto b = client("vm2");
  EXPECT_EQ(errno_of(ask(b, kStats)), 0);
  a_undisturbed();

  write_config("[vms]\n" + vm_line("vm1"));
  serve->signal(SIGHUP);
  ASSERT_TRUE(serve->wait_for_stderr("vm2: no longer served")) << serve->stderr_text();
  EXPECT_TRUE(b.closed_within(10s));
  struct stat status {};
  EXPECT_NE(::lstat(socket_of("vm2").c_str(), &status), 0);
  a_undisturbed();

  // A file that does not parse changes nothing, and says where it is wrong.
  write_config("[vms]\nvm1 = 5\n");
  serve->signal(SIGHUP);
  ASSERT_TRUE(serve->wait_for_stderr("keeping the running configuration")) << serve->stderr_text();
  EXPECT_NE(serve->stderr_text().find("serve.toml:2"), std::string::npos) << serve->stderr_text();
  a_undisturbed();
}

TEST_F(ServeConfig, ABadFileIsRefusedAtStartWithItsLine) {
  add_vm("vm1");
  write_config("colour = \"blue\"\n[vms]\n" + vm_line("vm1"));
  auto unknown = run_program(argv(), 30s);
  EXPECT_EQ(unknown.status, 78) << unknown.err;
  EXPECT_NE(unknown.err.find("serve.toml:1: unknown key 'colour'"), std::string::npos) << unknown.err;
  write_config("[vms]\n" + vm_line("vm1") + vm_line("vm1"));
  auto twice = run_program(argv(), 30s);
  EXPECT_EQ(twice.status, 78) << twice.err;
  EXPECT_NE(twice.err.find("serve.toml:3"), std::string::npos) << twice.err;
  write_config("[vms]\nvm1 = \"/no/scheme\"\n");
  auto uri = run_program(argv(), 30s);
  EXPECT_EQ(uri.status, 78) << uri.err;
  EXPECT_NE(uri.err.find("did you mean unix:"), std::string::npos) << uri.err;
  auto missing = run_program({program("KTSTATS", KTSTATS), "serve", "--config", dir / "absent.toml"}, 30s);
  EXPECT_EQ(missing.status, 78) << missing.err;
}

// VMs found by discovery: stand-in VMM sockets made and removed in the
// watched directories while clients are connected.
class ServeDiscovery : public Serve {
 protected:
  StandInVm& add_found_vm(const std::string& name, const std::string& vmm_socket) {
    return *vms.emplace(name, std::make_unique<StandInVm>(dir, name, vmm_socket)).first->second;
  }
  void start_discovering(const std::vector<std::string>& how) {
    std::vector<std::string> argv = {program("KTSTATS", KTSTATS), "serve", "--runtime-dir", runtime,
                                     "--request-timeout", "2s"};
    argv.insert(argv.end(), how.begin(), how.end());
    serve.emplace(Process::spawn(argv));
  }
  // A client's session, asked again: it must be the same one, read once more.
  struct Undisturbed {
    LinePeer peer;
    std::uint64_t session = 0;
    std::uint64_t reads = 0;
    void check() {
      const auto answer = ask(peer, kStats);
      ASSERT_EQ(errno_of(answer), 0) << answer;
      if (reads == 0) session = field(resp_of(answer), "session_id");
      EXPECT_EQ(field(resp_of(answer), "session_id"), session);
      EXPECT_EQ(field(resp_of(answer), "session_reads"), ++reads);
    }
  };
  Undisturbed client_of(const std::string& name) { return Undisturbed{client(name)}; }

  void remove_vmm_socket(StandInVm& vm) {
    ASSERT_EQ(::unlink(vm.vm_socket.c_str()), 0);
    vm.bridge.reset();
    vm.relay.reset();
  }
  bool served(const std::string& name) const {
    struct stat status {};
    return ::lstat(socket_of(name).c_str(), &status) == 0;
  }
};

TEST_F(ServeDiscovery, VmmSocketsInADirectoryAreServedWhileTheyAreThere) {
  const std::string vmm = dir / "vmm";
  ASSERT_EQ(::mkdir(vmm.c_str(), 0700), 0);
  // Named after the file, a ".sock" ending left out.
  auto& vm1 = add_found_vm("vm1", vmm + "/vm1.sock");
  auto& vm2 = add_found_vm("vm2", vmm + "/vm2.sock");
  for (auto* vm : {&vm1, &vm2}) {
    vm->start_session_server();
    vm->start_port();
  }
  // Not sockets, or no VM name: never served.
  std::FILE* notes = std::fopen((vmm + "/notes.txt").c_str(), "w");
  ASSERT_NE(notes, nullptr);
  std::fclose(notes);
  start_discovering({"--discover", vmm});
  for (const char* name : {"vm1", "vm2"}) {
    ASSERT_TRUE(serve->wait_for_stderr(std::string(name) + ": connected to")) << serve->stderr_text();
  }
  EXPECT_FALSE(served("notes.txt"));
  EXPECT_FALSE(served("notes"));
  auto a = client_of("vm1");
  a.check();
  auto b = client("vm2");
  EXPECT_EQ(errno_of(ask(b, kStats)), 0);

  // A VM started while serve runs.
  auto& vm3 = add_found_vm("vm3", vmm + "/vm3.sock");
  vm3.start_session_server();
  vm3.start_port();
  ASSERT_TRUE(serve->wait_for_stderr("vm3: connected to")) << serve->stderr_text();
  auto c = client("vm3");
  EXPECT_EQ(errno_of(ask(c, kStats)), 0);
  a.check();

  // A VM gone: its socket dropped, its client closed, the others on.
  remove_vmm_socket(vm2);
  ASSERT_TRUE(serve->wait_for_stderr("vm2: no longer served")) << serve->stderr_text();
  EXPECT_TRUE(b.closed_within(10s));
  EXPECT_FALSE(served("vm2"));
  a.check();
  EXPECT_EQ(errno_of(ask(c, kStats)), 0);

  // Back, its socket now without the ending: the same VM.
  vm2.vm_socket = vmm + "/vm2";
  vm2.start_port();
  ASSERT_TRUE(serve->wait_for_stderr("discovery: vm2 found at " + vm2.vm_socket + "\n"))
      << serve->stderr_text();
  ASSERT_TRUE(serve->wait_for_stderr("vm2: connected to unix:" + vm2.vm_socket + " (")) << serve->stderr_text();
  auto b2 = client("vm2");
  const auto back = ask(b2, kStats);
  EXPECT_EQ(errno_of(back), 0) << back << serve->stderr_text();
  a.check();

  serve->signal(SIGTERM);
  EXPECT_EQ(serve->wait(), 0) << serve->stderr_text();
  EXPECT_FALSE(served("vm1"));
}

TEST_F(ServeDiscovery, LibvirtChannelDirectoriesAreServedUnderTheDomainsName) {
  const std::string root = dir / "channel";
  ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
  // Debian 12's libvirt: domain-ID-NAME; the name may hold dashes.
  const std::string a_dir = root + "/domain-3-guest-a";
  ASSERT_EQ(::mkdir(a_dir.c_str(), 0700), 0);
  auto& guest_a = add_found_vm("guest-a", a_dir + "/org.ktstats.stats");
  guest_a.start_session_server();
  guest_a.start_port();
  // Another channel of the domain, and a directory that is no domain's.
  ASSERT_EQ(::mkdir((root + "/lost+found").c_str(), 0700), 0);
  start_discovering({"--discover-libvirt", root});
  ASSERT_TRUE(serve->wait_for_stderr("guest-a: connected to")) << serve->stderr_text();
  auto a = client_of("guest-a");
  a.check();

  // A domain started later (newer libvirt's ID-NAME): its directory
  // first, the channel's socket in it when QEMU starts.
  const std::string b_dir = root + "/12-guest-b";
  ASSERT_EQ(::mkdir(b_dir.c_str(), 0700), 0);
  auto& guest_b = add_found_vm("guest-b", b_dir + "/org.ktstats.stats");
  guest_b.start_session_server();
  guest_b.start_port();
  ASSERT_TRUE(serve->wait_for_stderr("guest-b: connected to")) << serve->stderr_text();
  auto b = client_of("guest-b");
  b.check();
  a.check();

  // The first domain shut down: libvirt removes its directory.
  remove_vmm_socket(guest_a);
  ASSERT_EQ(::rmdir(a_dir.c_str()), 0);
  ASSERT_TRUE(serve->wait_for_stderr("guest-a: no longer served")) << serve->stderr_text();
  EXPECT_TRUE(a.peer.closed_within(10s));
  EXPECT_FALSE(served("guest-a"));
  EXPECT_FALSE(served("lost+found"));
  b.check();
}

TEST_F(ServeDiscovery, ADirectoryThatIsNotThereIsRefusedAtStart) {
  auto run = run_program({program("KTSTATS", KTSTATS), "serve", "--runtime-dir", runtime,
                          "--discover", dir / "absent"},
                         30s);
  EXPECT_EQ(run.status, 73) << run.err;
  EXPECT_NE(run.err.find("absent is not a directory"), std::string::npos) << run.err;
}

TEST_F(ServeConfig, TheFileNamesTheDiscoveryDirectories) {
  const std::string vmm = dir / "vmm";
  ASSERT_EQ(::mkdir(vmm.c_str(), 0700), 0);
  auto& vm = *vms.emplace("vm1", std::make_unique<StandInVm>(dir, "vm1", vmm + "/vm1.sock")).first->second;
  vm.start_session_server();
  vm.start_port();
  write_config("discover = \"" + vmm + "\"\n[vms]\n");
  serve.emplace(Process::spawn(argv()));
  ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to")) << serve->stderr_text();
  auto a = client("vm1");
  EXPECT_EQ(errno_of(ask(a, kStats)), 0);
  serve.reset();
  write_config("discover_libvirt = 5\n[vms]\n");
  auto bad = run_program(argv(), 30s);
  EXPECT_EQ(bad.status, 78) << bad.err;
}

}  // namespace
}  // namespace ktstats::test
