// ktstats in a real VM: QEMU (TCG) boots Debian's cloud kernel with a
// busybox initramfs holding ktstats-relay (from the packaging fragment) and
// the fake scheduler; the host drives it with the real ktstats binary
// through QEMU's chardev socket. A control port lets the test start and
// kill the scheduler in the guest.
#include <signal.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include <boost/json/parse.hpp>

#include "guest_vm.hpp"
#include "line_peer.hpp"
#include "process.hpp"

namespace ktstats::test {
namespace {

class Vm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Every port event in the relay's log, printed if a case fails.
    guest_ = new GuestVm({KTSTATS_VM_CACHE_DIR, program("KTSTATS_RELAY", KTSTATS_RELAY),
                          KTSTATS_FAKE_SCHEDULER_STATIC, {}, {}, "trace"});
    if (guest_->failure().empty()) std::printf("guest up: kernel %s\n", guest_->kernel_release().c_str());
  }

  static void TearDownTestSuite() {
    delete guest_;
    guest_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(guest_->failure(), "") << "the VM did not boot"; }

  void TearDown() override {
    if (HasFailure()) {
      std::printf("---- guest console ----\n%s\n---- relay log ----\n%s\n", guest_->console().c_str(),
                  control("dmesg").c_str());
    }
  }

 public:
  static std::string control(const std::string& command) { return guest_->control(command); }

 protected:
  static std::string stats_socket() { return guest_->stats_socket(); }

  Outcome ktstats(std::vector<std::string> args) {
    args.insert(args.begin(), {program("KTSTATS", KTSTATS), "--connect", "unix:" + stats_socket(),
                               "--timeout", "20s"});
    return run_program(args);
  }

  static boost::json::value json(const std::string& text) {
    try {
      return boost::json::parse(text);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON: " << text;
      return {};
    }
  }

  static std::int64_t field(const Outcome& outcome, const char* name) {
    return json(outcome.out).at(name).to_number<std::int64_t>();
  }

  static GuestVm* guest_;
};

GuestVm* Vm::guest_ = nullptr;

// The tests run in this order and share one guest.

TEST_F(Vm, A_NoSchedulerYetIsAClearError) {
  auto r = ktstats({"stats"});
  EXPECT_EQ(r.status, 69);
  EXPECT_NE(r.err.find("no scheduler answered: no scheduler socket at /var/run/scx/root/stats"),
            std::string::npos)
      << r.err;
}

TEST_F(Vm, B_PingReportsTheRelay) {
  auto r = ktstats({"ping"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json(r.out).at("version").as_string(), KTSTATS_VERSION);
}

TEST_F(Vm, C_StatsTargetAndMetaOnceTheSchedulerRuns) {
  ASSERT_EQ(control("start-scheduler").rfind("ok", 0), 0u);
  auto stats = ktstats({"stats"});
  ASSERT_EQ(stats.status, 0) << stats.err;
  EXPECT_EQ(field(stats, "nr_cpus"), 4);
  EXPECT_EQ(field(stats, "session_reads"), 1);
  auto layers = ktstats({"stats", "--target", "layers"});
  ASSERT_EQ(layers.status, 0) << layers.err;
  EXPECT_EQ(json(layers.out).at("interactive").at("nr_tasks").as_int64(), 7);
  auto meta = ktstats({"meta"});
  ASSERT_EQ(meta.status, 0) << meta.err;
  EXPECT_EQ(json(meta.out).at("LayerStats").at("user").at("_om_label").as_string(), "layer_name");
  auto error = ktstats({"stats", "--target", "nope"});
  EXPECT_EQ(error.status, 65);
}

TEST_F(Vm, D_DeltasArePerSession) {
  auto watch = ktstats({"watch", "--interval", "100ms", "--count", "2"});
  ASSERT_EQ(watch.status, 0) << watch.err;
  const auto second_line = watch.out.substr(watch.out.find('\n') + 1);
  EXPECT_EQ(json(second_line).at("stats").at("session_reads").as_int64(), 2);
  EXPECT_EQ(json(second_line).at("stats").at("requests_delta").as_int64(), 1);
  for (int i = 0; i < 2; ++i) {
    auto one = ktstats({"stats"});
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(field(one, "session_reads"), 1) << "each command is a new session";
  }
}

TEST_F(Vm, E_SchedulerRestartedBetweenCommands) {
  ASSERT_EQ(control("kill-scheduler"), "ok");
  EXPECT_EQ(ktstats({"stats"}).status, 69);
  ASSERT_EQ(control("start-scheduler").rfind("ok", 0), 0u);
  auto r = ktstats({"stats"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(field(r, "total_requests"), 1) << "a fresh scheduler";
}

TEST_F(Vm, F_SchedulerRestartedDuringAWatch) {
  // No --count: the guest may take a while to restart the scheduler on a
  // loaded host, so the watch runs until the restarted scheduler's first
  // sample is seen, then Ctrl-C ends it.
  auto watch = Process::spawn({program("KTSTATS", KTSTATS), "--connect", "unix:" + stats_socket(),
                               "--timeout", "20s", "watch", "--interval", "200ms"});
  ASSERT_TRUE(watch.read_line(30s).has_value());
  ASSERT_EQ(control("kill-scheduler"), "ok");
  ASSERT_TRUE(watch.wait_for_stderr("no scheduler answered", 30s)) << watch.stderr_text();
  ASSERT_EQ(control("start-scheduler").rfind("ok", 0), 0u);
  std::string samples;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (samples.find(R"("total_requests":1,)") == std::string::npos) {
    auto line = watch.read_line(std::chrono::milliseconds(remaining_ms(deadline)));
    ASSERT_TRUE(line.has_value()) << "no sample from the restarted scheduler: " << samples
                                  << watch.stderr_text();
    samples += *line + "\n";
  }
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(30s), 0) << watch.stderr_text();
}

TEST_F(Vm, G_FiftyHostConnectsAndDisconnects) {
  for (int i = 0; i < 50; ++i) {
    auto r = ktstats({"ping"});
    ASSERT_EQ(r.status, 0) << "cycle " << i << ": " << r.err;
  }
  for (int i = 0; i < 10; ++i) {
    // Connect and leave without a word, as a crashed client would.
    auto fd = LinePeer::connect(stats_socket());
  }
  auto r = ktstats({"stats"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(control("relay-alive"), "ok");
}

TEST_F(Vm, H_KilledCommandLeavesNothingForTheNext) {
  auto slow = Process::spawn({program("KTSTATS", KTSTATS), "--connect", "unix:" + stats_socket(),
                              "--timeout", "20s", "-vv", "stats", "--arg", "fault=delay:1500"});
  ASSERT_TRUE(slow.wait_for_stderr(R"(-> {"req":"stats")", 30s)) << slow.stderr_text();
  slow.signal(SIGKILL);
  ASSERT_TRUE(slow.wait(10s).has_value());
  auto r = ktstats({"stats", "--target", "layers"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(json(r.out).as_object().contains("batch")) << r.out;
}

// A host that connects, asks, and leaves at once: its answer must never
// reach the host that comes next, and a host that opens a session must get
// a scheduler connection of its own. The quick host speaks plain scx_stats
// (no sync, no session), as ktstr's client and socat do.
void quick_host(const std::string& socket, std::string_view request) {
  auto quick = LinePeer::connect(socket);
  ASSERT_TRUE(quick.send_line(request));
}

TEST_F(Vm, J_QuickLeavingHostLeavesNothingForASessionHost) {
  // The gaps the crossing was seen at, cycled.
  constexpr std::chrono::milliseconds kGaps[] = {0ms, 50ms, 100ms, 200ms, 400ms, 800ms};
  for (int i = 0; i < 100; ++i) {
    quick_host(stats_socket(), R"({"req":"stats"})");
    std::this_thread::sleep_for(kGaps[i % std::size(kGaps)]);
    auto r = ktstats({"stats"});
    ASSERT_EQ(r.status, 0) << "run " << i << ": " << r.err;
    ASSERT_EQ(field(r, "session_reads"), 1) << "run " << i << ": not a connection of its own";
  }
}

TEST_F(Vm, K_QuickLeavingHostLeavesNothingForAPlainHost) {
  // The relay holds bytes read before it saw their host attach for at most
  // a second (a virtio port reports the host's arrival after its first
  // bytes); the next plain host comes later than that, as in the report.
  for (int i = 0; i < 100; ++i) {
    quick_host(stats_socket(), R"({"req":"stats","args":{"target":"layers"}})");
    std::this_thread::sleep_for(1500ms);
    auto r = ktstats({"--no-sync", "stats"});
    ASSERT_EQ(r.status, 0) << "run " << i << ": " << r.err;
    ASSERT_TRUE(json(r.out).as_object().contains("nr_cpus"))
        << "run " << i << ": the previous host's answer crossed: " << r.out;
  }
}

struct RelayCost {
  unsigned long cpu_ticks = 0, switches = 0, rss_kib = 0;
};

RelayCost relay_cost(const std::string& answer) {
  RelayCost cost;
  EXPECT_EQ(std::sscanf(answer.c_str(), "ok %lu %lu %lu", &cost.cpu_ticks, &cost.switches, &cost.rss_kib), 3)
      << answer;
  return cost;
}

// Waits until the relay has been still for two seconds (a host's hang-up
// may reach the guest's relay a while after the host left, on a loaded
// machine), then measures ten seconds. A relay that never sleeps that long
// fails here.
std::optional<RelayCost> idle_cost_over_ten_seconds() {
  auto before = relay_cost(Vm::control("relay-cost"));
  const auto settle_by = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    std::this_thread::sleep_for(2s);
    const auto now = relay_cost(Vm::control("relay-cost"));
    if (now.cpu_ticks == before.cpu_ticks && now.switches == before.switches) break;
    if (std::chrono::steady_clock::now() > settle_by) return std::nullopt;
    before = now;
  }
  std::this_thread::sleep_for(10s);
  const auto after = relay_cost(Vm::control("relay-cost"));
  return RelayCost{after.cpu_ticks - before.cpu_ticks, after.switches - before.switches, after.rss_kib};
}

TEST_F(Vm, I_IdleRelayCostsNothing) {
  const auto idle = idle_cost_over_ten_seconds();
  ASSERT_TRUE(idle.has_value()) << "the relay never went idle";
  std::printf("idle 10 s with no host: relay CPU %lu ticks, voluntary switches %lu, RSS %lu KiB\n",
              idle->cpu_ticks, idle->switches, idle->rss_kib);
  EXPECT_EQ(idle->cpu_ticks, 0u);
  EXPECT_EQ(idle->switches, 0u);
}

TEST_F(Vm, L_IdleWithASilentHostAttachedCostsNothing) {
  auto host = LinePeer::connect(stats_socket());
  const auto idle = idle_cost_over_ten_seconds();
  ASSERT_TRUE(idle.has_value()) << "the relay never went idle";
  std::printf("idle 10 s with a silent host attached: relay CPU %lu ticks, voluntary switches %lu\n",
              idle->cpu_ticks, idle->switches);
  EXPECT_EQ(idle->cpu_ticks, 0u);
  EXPECT_EQ(idle->switches, 0u);
  // And the host is still served.
  ASSERT_TRUE(host.send_line(R"({"req":"stats"})"));
  auto answer = host.read_line(30s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_NE(answer->find("nr_cpus"), std::string::npos) << *answer;
}

}  // namespace
}  // namespace ktstats::test
