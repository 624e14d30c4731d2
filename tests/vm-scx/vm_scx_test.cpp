// ktstats against a real sched_ext scheduler: QEMU (TCG, two vCPUs) boots
// the 6.12 kernel with sched_ext built in from ../shared/upstream; the guest
// runs upstream's BPF schedulers (scx_simple, then scx_qmap) and
// session_server (a stats server on upstream's scx_stats crate, with
// per-connection deltas as real schedulers keep them) beside ktstats-relay
// from the packaging fragment. The host drives it with the built ktstats
// through the real virtio port; a control port starts and stops things in
// the guest (tests/vm-scx/guest-init).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "guest_vm.hpp"
#include "line_peer.hpp"
#include "process.hpp"

namespace ktstats::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string upstream_dir() {
  if (const char* dir = std::getenv("KTSTATS_UPSTREAM"); dir != nullptr && *dir != '\0') return dir;
  return KTSTATS_SOURCE_DIR "/../shared/upstream";
}

// What the guest needs from upstream, or the first piece missing.
std::optional<std::string> missing_upstream_file() {
  for (const char* file : {"sched-ext-guest/bzImage-6.12.117-scx", "sched-ext-guest/scx_simple",
                           "sched-ext-guest/scx_qmap", "scx_stats/bin/session_server"}) {
    const auto path = upstream_dir() + "/" + file;
    if (::access(path.c_str(), R_OK) != 0) return path;
  }
  return std::nullopt;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double milliseconds(Clock::duration elapsed) {
  return std::chrono::duration<double, std::milli>(elapsed).count();
}

// The words of a control answer after its leading "ok".
std::vector<std::string> ok_words(const std::string& answer) {
  std::istringstream in(answer);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  if (words.empty() || words.front() != "ok") {
    ADD_FAILURE() << "guest answered: " << answer;
    return {};
  }
  words.erase(words.begin());
  return words;
}

boost::json::value json(const std::string& text) {
  boost::system::error_code error;
  auto value = boost::json::parse(text, error);
  if (error) ADD_FAILURE() << "not JSON: " << text;
  return value;
}

std::int64_t number(const boost::json::value& object, const char* name) {
  const auto* found = object.is_object() ? object.as_object().if_contains(name) : nullptr;
  if (found == nullptr || !found->is_number()) {
    ADD_FAILURE() << "no number " << name << " in " << boost::json::serialize(object);
    return -1;
  }
  return found->to_number<std::int64_t>();
}

// A watch sample's "timestamp" (UTC, milliseconds), on the system clock.
std::chrono::system_clock::time_point sample_time(const boost::json::value& sample) {
  std::tm parts{};
  int millis = 0;
  const std::string text(sample.at("timestamp").as_string());
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                  &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &millis) != 7) {
    ADD_FAILURE() << "timestamp " << text;
    return {};
  }
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(::timegm(&parts)) + std::chrono::milliseconds(millis);
}

class VmScx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    started_ = Clock::now();
    GuestVm::Options options;
    options.relay = program("KTSTATS_RELAY", KTSTATS_RELAY);
    options.kernel_image = upstream_dir() + "/sched-ext-guest/bzImage-6.12.117-scx";
    options.initramfs_builder = {KTSTATS_SOURCE_DIR "/tests/vm-scx/build-initramfs", options.relay,
                                 upstream_dir()};
    options.relay_log_level = "debug";
    options.memory_mib = 512;
    options.cpus = 2;
    guest_ = new GuestVm(options);
    if (guest_->failure().empty()) {
      std::printf("guest up: kernel %s, %.1f s\n", guest_->kernel_release().c_str(), seconds_since(started_));
    }
  }

  static void TearDownTestSuite() {
    delete guest_;
    guest_ = nullptr;
    std::printf("vm-scx: %.1f s in all, boot to poweroff\n", seconds_since(started_));
  }

  void SetUp() override { ASSERT_EQ(guest_->failure(), "") << "the VM did not boot"; }

  void TearDown() override {
    if (!HasFailure()) return;
    auto lines = [](std::string text) {
      std::replace(text.begin(), text.end(), '|', '\n');
      return text;
    };
    std::printf("---- guest console ----\n%s\n---- relay log ----\n%s\n---- scheduler and stats server ----\n%s\n",
                guest_->console().c_str(), lines(control("dmesg")).c_str(), lines(control("logs")).c_str());
  }

  static std::string control(const std::string& command) { return guest_->control(command); }
  static std::string stats_socket() { return guest_->stats_socket(); }

  static std::vector<std::string> ktstats_argv(std::vector<std::string> args, const char* timeout = "20s") {
    args.insert(args.begin(),
                {program("KTSTATS", KTSTATS), "--connect", "unix:" + stats_socket(), "--timeout", timeout});
    return args;
  }

  static Outcome ktstats(std::vector<std::string> args) { return run_program(ktstats_argv(std::move(args))); }

  static inline GuestVm* guest_ = nullptr;
  static inline Clock::time_point started_;
};

// The cases run in this order and share one guest.

TEST_F(VmScx, A_SimpleAttachesBesideTheStatsServer) {
  ASSERT_EQ(control("sched-state"), "ok disabled none");
  const auto stats_server = control("start-stats");
  ASSERT_EQ(stats_server.rfind("ok ", 0), 0u) << stats_server;
  EXPECT_EQ(control("start-scheduler simple"), "ok enabled simple");
}

TEST_F(VmScx, B_StatsMetaAndPingThroughTheVirtioPort) {
  auto stats = ktstats({"stats"});
  ASSERT_EQ(stats.status, 0) << stats.err;
  const auto answer = json(stats.out);
  EXPECT_EQ(number(answer, "session_reads"), 1);
  EXPECT_EQ(number(answer, "reads_delta"), 1);
  EXPECT_EQ(number(answer.at("layers").at("interactive"), "nr_tasks"), 7);

  auto meta = ktstats({"meta"});
  ASSERT_EQ(meta.status, 0) << meta.err;
  const auto schema = json(meta.out);
  EXPECT_EQ(schema.at("SessionStats").at("top").as_string(), "true");
  EXPECT_EQ(schema.at("LayerStats").at("user").at("_om_label").as_string(), "layer_name");

  auto ping = ktstats({"ping"});
  ASSERT_EQ(ping.status, 0) << ping.err;
  EXPECT_EQ(json(ping.out).at("version").as_string(), KTSTATS_VERSION);
}

TEST_F(VmScx, C_WatchIsOneSchedulerConnectionWithDeltasOfOne) {
  auto watch = ktstats({"watch", "--interval", "100ms", "--count", "3"});
  ASSERT_EQ(watch.status, 0) << watch.err;
  std::istringstream lines(watch.out);
  std::vector<std::int64_t> sessions;
  for (std::string line; std::getline(lines, line);) {
    const auto sample = json(line).at("stats");
    sessions.push_back(number(sample, "session_id"));
    EXPECT_EQ(number(sample, "reads_delta"), 1) << line;
    EXPECT_EQ(number(sample, "session_reads"), static_cast<std::int64_t>(sessions.size())) << line;
  }
  ASSERT_EQ(sessions.size(), 3u) << watch.out;
  EXPECT_EQ(std::count(sessions.begin(), sessions.end(), sessions.front()), 3) << watch.out;

  auto next = ktstats({"stats"});
  ASSERT_EQ(next.status, 0) << next.err;
  EXPECT_NE(number(json(next.out), "session_id"), sessions.front()) << "the next command, a new session";
}

TEST_F(VmScx, D_RelayAnswersWithinTwoSecondsWithBothCpusBusy) {
  ASSERT_EQ(control("sched-state"), "ok enabled simple");
  ASSERT_EQ(ok_words(control("start-hogs 2")).size(), 2u);
  const auto ticks_before = ok_words(control("cpu-ticks"));

  Clock::duration worst{};
  {
    auto host = LinePeer::connect(stats_socket());
    for (int i = 0; i < 5; ++i) {
      const auto sent = Clock::now();
      ASSERT_TRUE(host.send_line(R"({"req":"stats"})"));
      const auto answer = host.read_line(10s);
      worst = std::max(worst, Clock::now() - sent);
      ASSERT_TRUE(answer.has_value()) << "no answer to request " << i;
      EXPECT_EQ(number(json(*answer), "errno"), 0) << *answer;
    }
  }
  const auto command_started = Clock::now();
  auto stats = run_program(ktstats_argv({"stats"}, "2s"));
  const auto command_took = Clock::now() - command_started;

  const auto ticks_after = ok_words(control("cpu-ticks"));
  EXPECT_EQ(control("stop-hogs"), "ok");
  ASSERT_EQ(ticks_before.size(), 2u);
  ASSERT_EQ(ticks_after.size(), 2u);
  const double idle = std::stod(ticks_after[0]) - std::stod(ticks_before[0]);
  const double total = std::stod(ticks_after[1]) - std::stod(ticks_before[1]);
  std::printf("two CPU hogs under scx_simple: relay round trip at worst %.0f ms (5 requests), "
              "ktstats stats %.0f ms, guest CPUs idle %.1f%% meanwhile\n",
              milliseconds(worst), milliseconds(command_took), total > 0 ? 100 * idle / total : 100.0);
  EXPECT_LT(worst, 2s);
  EXPECT_EQ(stats.status, 0) << stats.err;
  EXPECT_LT(command_took, 2s);
  EXPECT_LT(idle, total / 10) << "the hogs did not keep both vCPUs busy";
}

TEST_F(VmScx, E_StatsServerKilledThenRestarted) {
  ASSERT_EQ(control("kill-stats"), "ok");
  {
    // A plain host: the relay's error lines in place of answers, in step.
    auto host = LinePeer::connect(stats_socket());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(host.send_line(R"({"req":"stats"})"));
      const auto line = host.read_line(30s);
      ASSERT_TRUE(line.has_value()) << "no answer to request " << i;
      const auto error = json(*line);
      EXPECT_TRUE(error.as_object().contains("ktstr_relay_error")) << *line;
      EXPECT_EQ(error.at("kind").as_string(), "no_scheduler") << *line;
    }
  }
  auto down = ktstats({"stats"});
  EXPECT_EQ(down.status, 69) << down.err;
  EXPECT_NE(down.err.find("no scheduler answered"), std::string::npos) << down.err;

  const auto restarted = control("start-stats");
  ASSERT_EQ(restarted.rfind("ok ", 0), 0u) << restarted;
  auto up = ktstats({"stats"});
  ASSERT_EQ(up.status, 0) << up.err;
  EXPECT_EQ(number(json(up.out), "total_reads"), 1) << "a fresh server";
  EXPECT_EQ(number(json(up.out), "session_reads"), 1);
}

TEST_F(VmScx, F_SchedulerSwappedWhileAWatchRuns) {
  auto watch = Process::spawn(ktstats_argv({"watch", "--interval", "200ms"}));
  std::vector<boost::json::value> samples;
  // Reads samples until one was taken after `after`.
  auto sample_after = [&](std::chrono::system_clock::time_point after) {
    const auto deadline = Clock::now() + 60s;
    for (;;) {
      const auto line = watch.read_line(std::chrono::milliseconds(remaining_ms(deadline)));
      if (!line) return false;
      samples.push_back(json(*line));
      if (sample_time(samples.back()) > after) return true;
    }
  };
  ASSERT_TRUE(sample_after({})) << watch.stderr_text();

  const auto detached = ok_words(control("stop-scheduler"));
  ASSERT_EQ(detached.size(), 3u);
  EXPECT_EQ(detached[0], "0") << "scx_simple's exit status";
  EXPECT_EQ(detached[1] + " " + detached[2], "disabled none");
  ASSERT_TRUE(sample_after(std::chrono::system_clock::now())) << "no sample while detached: "
                                                             << watch.stderr_text();

  EXPECT_EQ(control("start-scheduler qmap"), "ok enabled qmap");
  ASSERT_TRUE(sample_after(std::chrono::system_clock::now())) << "no sample under scx_qmap: "
                                                             << watch.stderr_text();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(30s), 0) << watch.stderr_text();

  const auto session = number(samples.front().at("stats"), "session_id");
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& stats = samples[i].at("stats");
    EXPECT_EQ(number(stats, "session_id"), session) << "sample " << i;
    EXPECT_EQ(number(stats, "reads_delta"), 1) << "sample " << i;
    EXPECT_EQ(number(stats, "session_reads"), static_cast<std::int64_t>(i + 1)) << "sample " << i;
  }
  std::printf("watch across the swap: %zu samples on scheduler connection %lld\n", samples.size(),
              static_cast<long long>(session));
}

TEST_F(VmScx, G_IdleRelayCostsNothing) {
  // Measured in the guest, so that the control port is silent meanwhile.
  const auto idle = ok_words(control("relay-idle 10"));
  ASSERT_EQ(idle.size(), 3u);
  std::printf("idle 10 s under scx_qmap: relay CPU %s ticks, voluntary switches %s (still after %s s)\n",
              idle[0].c_str(), idle[1].c_str(), idle[2].c_str());
  EXPECT_EQ(idle[0], "0");
  EXPECT_EQ(idle[1], "0");
  EXPECT_EQ(control("relay-alive"), "ok");
}

}  // namespace
}  // namespace ktstats::test

int main(int argc, char** argv) {
  if (const auto missing = ktstats::test::missing_upstream_file()) {
    std::printf("vm-scx skipped: %s is absent (the upstream sched_ext kernel, schedulers and stats server)\n",
                missing->c_str());
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
