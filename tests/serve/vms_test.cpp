// `ktstats vms` and `ktstats serve --list` against a real `ktstats serve`:
// one VM up behind ktstats-relay (a stand-in VMM, the fake scheduler), one
// whose VMM socket is missing, one whose socket refuses.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "ktstats/json_line.hpp"
#include "line_peer.hpp"
#include "process.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::test {
namespace {

namespace json = boost::json;

// A VM up: the VMM's socket (a stand-in bridge), the relay on its guest
// side, the fake scheduler behind it.
struct UpVm {
  explicit UpVm(const TempDir& dir)
      : vmm_socket(dir / "vm1-vmm.sock"), port(dir / "vm1-port"), scheduler_socket(dir / "vm1-stats") {
    scheduler.emplace(Process::spawn(
        {program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", scheduler_socket}));
    const auto ready = scheduler->read_line();
    EXPECT_TRUE(ready && ready->rfind("ready", 0) == 0) << scheduler->stderr_text();
    bridge.emplace(vmm_socket, port);
    relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", port, "--socket",
                                  scheduler_socket, "--log-level", "debug"}));
  }
  std::string vmm_socket, port, scheduler_socket;
  std::optional<Process> scheduler;
  std::optional<VmmBridge> bridge;
  std::optional<Process> relay;
};

// A socket file nobody listens on: connecting is refused.
UniqueFd refusing_socket(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0)
      << std::strerror(errno);
  return fd;
}

const json::object* vm_named(const json::value& status, const std::string& name) {
  for (const auto& vm : status.at("vms").as_array()) {
    if (vm.at("name") == json::value(name)) return &vm.as_object();
  }
  return nullptr;
}

class Vms : public ::testing::Test {
 protected:
  std::vector<std::string> ktstats(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{program("KTSTATS", KTSTATS)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // serve for vm1 (up), vm2 (its socket missing) and vm3 (refusing), with
  // a client of vm1 that has asked once and stays connected.
  void start_all() {
    up.emplace(dir);
    refusing = refusing_socket(dir / "vm3-vmm.sock");
    serve.emplace(Process::spawn(ktstats(
        {"serve", "--runtime-dir", runtime, "--vm", "vm1=unix:" + up->vmm_socket, "--vm",
         "vm2=unix:" + (dir / "vm2-vmm.sock"), "--vm", "vm3=unix:" + (dir / "vm3-vmm.sock")})));
    ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to", 30s)) << serve->stderr_text();
    ASSERT_TRUE(serve->wait_for_stderr("vm2: waiting for the VM's port")) << serve->stderr_text();
    ASSERT_TRUE(serve->wait_for_stderr("vm3: cannot connect")) << serve->stderr_text();
    client.emplace(LinePeer::connect(runtime + "/vm1/stats"));
    ASSERT_TRUE(client->send_line(R"({"req":"stats"})"));
    const auto answer = client->read_line(30s);
    ASSERT_TRUE(answer) << serve->stderr_text();
    ASSERT_NE(answer->find(R"("errno":0)"), std::string::npos) << *answer;
  }

  json::value status_json(const std::vector<std::string>& args) const {
    const auto run = run_program(args, 30s);
    EXPECT_EQ(run.status, 0) << run.err;
    auto parsed = parse_json_line(run.out.substr(0, run.out.find('\n')));
    EXPECT_TRUE(parsed) << run.out << run.err;
    return parsed ? *parsed : json::value();
  }

  TempDir dir;
  std::string runtime = dir / "run";
  std::optional<UpVm> up;
  UniqueFd refusing;
  std::optional<Process> serve;
  std::optional<LinePeer> client;
};

TEST_F(Vms, ShowsEachVmsStateAsJson) {
  start_all();
  const auto status = status_json(ktstats({"vms", "--runtime-dir", runtime, "--format", "json"}));
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status.at("pid").to_number<std::int64_t>(), serve->pid());
  EXPECT_EQ(status.at("ktstats_serve"), json::value(KTSTATS_VERSION));

  const auto* vm1 = vm_named(status, "vm1");
  ASSERT_NE(vm1, nullptr) << json::serialize(status);
  EXPECT_EQ(vm1->at("state"), json::value("connected"));
  EXPECT_EQ(vm1->at("mode"), json::value("sessions"));
  EXPECT_EQ(vm1->at("relay"), json::value("ktstats-relay"));
  EXPECT_EQ(vm1->at("relay_version"), json::value(KTSTATS_VERSION));
  EXPECT_EQ(vm1->at("clients").to_number<int>(), 1);
  EXPECT_EQ(vm1->at("sessions").to_number<int>(), 1);
  EXPECT_EQ(vm1->at("requests").to_number<int>(), 1);
  EXPECT_EQ(vm1->at("socket"), json::value(runtime + "/vm1/stats"));
  EXPECT_EQ(vm1->at("discovered"), json::value(false));

  const auto* vm2 = vm_named(status, "vm2");
  ASSERT_NE(vm2, nullptr);
  EXPECT_EQ(vm2->at("state"), json::value("waiting"));
  EXPECT_EQ(vm2->at("mode"), json::value("unknown"));
  EXPECT_TRUE(vm2->at("relay").is_null());
  EXPECT_EQ(vm2->at("clients").to_number<int>(), 0);
  const auto& error2 = vm2->at("last_error");
  ASSERT_TRUE(error2.is_object()) << json::serialize(*vm2);
  EXPECT_EQ(error2.at("errno").to_number<int>(), ENOTCONN);
  EXPECT_NE(std::string(error2.at("message").as_string()).find("waiting for the VM's port"),
            std::string::npos);
  EXPECT_EQ(error2.at("since").as_string().size(), std::string("2026-11-26T08:10:03Z").size());

  const auto* vm3 = vm_named(status, "vm3");
  ASSERT_NE(vm3, nullptr);
  EXPECT_EQ(vm3->at("state"), json::value("backoff"));
  EXPECT_LE(vm3->at("retry_in_ms").to_number<int>(), 5000);
  EXPECT_EQ(vm3->at("last_error").at("errno").to_number<int>(), ECONNREFUSED);

  // The client gone: its session closed (the relay says so once serve has
  // dropped the client and sent the close), the VM still connected.
  client->close();
  ASSERT_TRUE(up->relay->wait_for_stderr("closed on link")) << up->relay->stderr_text();
  const auto again = status_json(ktstats({"vms", "--runtime-dir", runtime, "-f", "json"}));
  const auto* now1 = vm_named(again, "vm1");
  ASSERT_NE(now1, nullptr);
  EXPECT_EQ(now1->at("clients").to_number<int>(), 0);
  EXPECT_EQ(now1->at("sessions").to_number<int>(), 0);
  EXPECT_EQ(now1->at("state"), json::value("connected"));
}

TEST_F(Vms, ServeListIsTheSameAsATableOnAnyTerminal) {
  start_all();
  for (const auto& args :
       {ktstats({"vms", "--runtime-dir", runtime, "--format", "table"}),
        ktstats({"serve", "--list", "--runtime-dir", runtime, "--format", "table"}),
        std::vector<std::string>{"/usr/bin/env", "KTSTATS_RUNTIME_DIR=" + runtime,
                                 program("KTSTATS", KTSTATS), "vms", "-f", "pretty"}}) {
    const auto run = run_program(args, 30s);
    ASSERT_EQ(run.status, 0) << run.err;
    EXPECT_NE(run.out.find("3 VMs"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("ktstats-relay " KTSTATS_VERSION), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("waiting for the VMM socket"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("backing off (retry in"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("LAST ERROR SINCE"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("ECONNREFUSED  vm3: cannot connect"), std::string::npos) << run.out;
  }
}

// A port with no relay behind it, straight to the scheduler (as a socat
// bridge would be): the open line is answered as a request, so one client
// at a time, no relay named, no session.
TEST_F(Vms, ARelayWithoutSessionsIsShownOneAtATime) {
  const std::string scheduler_socket = dir / "bare-stats";
  Process scheduler = Process::spawn(
      {program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", scheduler_socket});
  const auto ready = scheduler.read_line();
  ASSERT_TRUE(ready && ready->rfind("ready", 0) == 0) << scheduler.stderr_text();
  serve.emplace(Process::spawn(
      ktstats({"serve", "--runtime-dir", runtime, "--vm", "bare=unix:" + scheduler_socket})));
  ASSERT_TRUE(serve->wait_for_stderr("bare: connected to")) << serve->stderr_text();
  client.emplace(LinePeer::connect(runtime + "/bare/stats"));
  ASSERT_TRUE(client->send_line(R"({"req":"stats"})"));
  const auto answer = client->read_line(30s);
  ASSERT_TRUE(answer) << serve->stderr_text();
  ASSERT_NE(answer->find(R"("errno":0)"), std::string::npos) << *answer;

  const auto status = status_json(ktstats({"vms", "--runtime-dir", runtime, "-f", "json"}));
  const auto* bare = vm_named(status, "bare");
  ASSERT_NE(bare, nullptr) << json::serialize(status);
  EXPECT_EQ(bare->at("state"), json::value("connected"));
  EXPECT_EQ(bare->at("mode"), json::value("one_at_a_time"));
  EXPECT_TRUE(bare->at("relay").is_null());
  EXPECT_EQ(bare->at("clients").to_number<int>(), 1);
  EXPECT_EQ(bare->at("sessions").to_number<int>(), 0);

  const auto table = run_program(ktstats({"vms", "--runtime-dir", runtime, "-f", "table"}), 30s);
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("one at a time"), std::string::npos) << table.out;
}

TEST_F(Vms, TableEscapesControlBytesFromConfigs) {
  const std::string evil = dir / "evil\x1b[2J\x07vm.sock";
  serve.emplace(Process::spawn(ktstats({"serve", "--runtime-dir", runtime, "--vm", "vm9=unix:" + evil})));
  ASSERT_TRUE(serve->wait_for_stderr("vm9: waiting for")) << serve->stderr_text();
  const auto run = run_program(ktstats({"vms", "--runtime-dir", runtime, "-f", "table"}), 30s);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find('\x07'), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("evil\\x1b[2J\\x07vm.sock"), std::string::npos) << run.out;
}

TEST_F(Vms, NoServeRunningIsAClearError) {
  const auto run = run_program(ktstats({"vms", "--runtime-dir", dir / "nothing"}), 30s);
  EXPECT_EQ(run.status, EX_UNAVAILABLE) << run.out << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_NE(run.err.find("is ktstats serve running?"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(dir / "nothing/+control/stats"), std::string::npos) << run.err;
}

TEST_F(Vms, ControlSocketIsMadeLikeTheVmsAndRemovedAtExit) {
  serve.emplace(Process::spawn(ktstats({"serve", "--runtime-dir", runtime, "--vm",
                                        "vm2=unix:" + (dir / "vm2-vmm.sock")})));
  ASSERT_TRUE(serve->wait_for_stderr("vm2: listening on")) << serve->stderr_text();
  const std::string control = runtime + "/+control/stats";
  struct stat status {};
  ASSERT_EQ(::lstat(control.c_str(), &status), 0);
  EXPECT_TRUE(S_ISSOCK(status.st_mode));
  EXPECT_EQ(status.st_mode & 07777, 0660u);
  ASSERT_EQ(::lstat((runtime + "/+control").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0750u);

  // A second serve on the same directory is refused at the control socket.
  const auto second = run_program(ktstats({"serve", "--runtime-dir", runtime, "--vm",
                                           "other=unix:" + (dir / "other.sock")}),
                                  30s);
  EXPECT_EQ(second.status, EX_CANTCREAT) << second.err;
  EXPECT_NE(second.err.find("another process listens on"), std::string::npos) << second.err;

  // With no VMs at all, serve runs and answers (the packaged unit's case).
  serve->signal(SIGTERM);
  ASSERT_EQ(serve->wait(), 0) << serve->stderr_text();
  EXPECT_NE(::lstat(control.c_str(), &status), 0);
  const std::string empty_config = dir / "serve.toml";
  {
    std::FILE* file = std::fopen(empty_config.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("[vms]\n", file);
    std::fclose(file);
  }
  serve.emplace(Process::spawn(ktstats({"serve", "--runtime-dir", runtime, "--config", empty_config})));
  ASSERT_TRUE(serve->wait_for_stderr("status for ktstats vms at")) << serve->stderr_text();
  const auto empty = status_json(ktstats({"vms", "--runtime-dir", runtime, "-f", "json"}));
  ASSERT_TRUE(empty.is_object());
  EXPECT_TRUE(empty.at("vms").as_array().empty());
  serve->signal(SIGTERM);
  EXPECT_EQ(serve->wait(), 0) << serve->stderr_text();
}

}  // namespace
}  // namespace ktstats::test
