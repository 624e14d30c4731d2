// ktstats serve in front of a real QEMU guest (TCG, the VM test's guest:
// ktstats-relay in a busybox initramfs, the fake scheduler), reached as
// vm:NAME: a watch and a loop of one-shot stats commands at the same time,
// each with its own session, while the guest is shut down and QEMU started
// again on the same chardev socket path, as a VM manager restarts a VM.
// Clients get error answers during the outage and right answers after.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>

#include "guest_vm.hpp"
#include "process.hpp"

namespace ktstats::test {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<boost::json::value> json(const std::string& text) {
  boost::system::error_code error;
  auto value = boost::json::parse(text, error);
  if (error) return std::nullopt;
  return value;
}

std::int64_t number_at(const boost::json::value& value, const char* name) {
  const auto* object = value.if_object();
  if (object == nullptr || !object->contains(name)) return -1;
  return object->at(name).to_number<std::int64_t>();
}

// The one-shot commands' outcomes, in order, and a wait on them.
class StatsLoop {
 public:
  struct Run {
    Outcome outcome;
    Clock::time_point started;
    Clock::time_point ended;
  };

  explicit StatsLoop(std::vector<std::string> argv) : argv_(std::move(argv)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~StatsLoop() { stop(); }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Waits until a run matching `wanted` has been recorded since run `from`.
  template <class Predicate>
  bool wait_for(std::size_t from, Predicate wanted, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < runs_.size(); ++i) {
        if (wanted(runs_[i])) return true;
      }
      return false;
    });
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return runs_.size();
  }
  std::vector<Run> runs() {
    std::lock_guard lock(mutex_);
    return runs_;
  }

 private:
  void loop() {
    while (!stopping_) {
      Run run;
      run.started = Clock::now();
      run.outcome = run_program(argv_, 60s);
      run.ended = Clock::now();
      {
        std::lock_guard lock(mutex_);
        runs_.push_back(std::move(run));
        changed_.notify_all();
      }
      // Paced, so that the loop does not spin on the outage's immediate answers.
      std::this_thread::sleep_for(100ms);
    }
  }

  std::vector<std::string> argv_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Run> runs_;
  std::thread thread_;
};

bool succeeded(const StatsLoop::Run& run) { return run.outcome.status == 0; }
bool failed(const StatsLoop::Run& run) { return run.outcome.status != 0; }

class VmServe : public ::testing::Test {
 protected:
  void boot() {
    GuestVm::Options options{KTSTATS_VM_CACHE_DIR, program("KTSTATS_RELAY", KTSTATS_RELAY),
                             KTSTATS_FAKE_SCHEDULER_STATIC, {}, {}};
    options.stats_socket = vmm_socket;
    guest.emplace(options);
    ASSERT_EQ(guest->failure(), "") << "the VM did not boot";
    ASSERT_EQ(guest->control("start-scheduler").rfind("ok", 0), 0u);
  }

  void TearDown() override {
    if (HasFailure() && serve) std::printf("---- serve ----\n%s\n", serve->stderr_text().c_str());
    if (HasFailure() && guest) std::printf("---- guest console ----\n%s\n", guest->console().c_str());
  }

  std::vector<std::string> ktstats(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{program("KTSTATS", KTSTATS), "--connect", "vm:vm1", "--timeout", "20s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Next watch sample (its "stats" object); nullopt after the deadline.
  std::optional<boost::json::value> next_sample(Process& watch, Clock::time_point deadline) {
    auto line = watch.read_line(std::chrono::milliseconds(remaining_ms(deadline)));
    if (!line) return std::nullopt;
    auto value = json(*line);
    if (!value || !value->is_object() || !value->as_object().contains("stats")) {
      ADD_FAILURE() << "not a watch sample: " << *line;
      return std::nullopt;
    }
    return value->at("stats");
  }

  TempDir dir;
  std::string vmm_socket = dir / "vm1.sock";
  std::optional<GuestVm> guest;
  std::optional<Process> serve;
};

TEST_F(VmServe, WatchAndStatsLoopThroughServeWhileTheGuestRestarts) {
  boot();
  if (HasFatalFailure()) return;
  const std::string runtime = dir / "run";
  serve.emplace(Process::spawn({program("KTSTATS", KTSTATS), "serve", "--runtime-dir", runtime, "--vm",
                                "vm1=unix:" + vmm_socket}));
  ASSERT_TRUE(serve->wait_for_stderr("vm1: connected to", 30s)) << serve->stderr_text();
  ::setenv("KTSTATS_RUNTIME_DIR", runtime.c_str(), 1);

  auto watch = Process::spawn(ktstats({"watch", "--interval", "200ms"}));
  StatsLoop loop(ktstats({"stats"}));

  // Both served at once: the watch on one session (its reads counting
  // up), every stats command on a session of its own.
  std::int64_t reads = 0;
  for (const auto deadline = Clock::now() + 60s; reads < 5;) {
    auto sample = next_sample(watch, deadline);
    ASSERT_TRUE(sample) << "watch: " << watch.stderr_text();
    EXPECT_EQ(number_at(*sample, "nr_cpus"), 4);
    EXPECT_EQ(number_at(*sample, "session_reads"), ++reads);
  }
  ASSERT_TRUE(loop.wait_for(0, succeeded, 60s));

  // QEMU shut down and started again on the same socket path.
  const std::int64_t requests_before = [&] {
    auto sample = next_sample(watch, Clock::now() + 30s);
    return sample ? number_at(*sample, "total_requests") : -1;
  }();
  ASSERT_GT(requests_before, 5);
  const auto runs_before_outage = loop.count();
  const auto outage_began = Clock::now();
  guest.reset();
  ASSERT_TRUE(loop.wait_for(runs_before_outage, failed, 60s)) << "no error answer while the guest was down";
  ASSERT_TRUE(watch.wait_for_stderr("vm1", 60s)) << "the watch saw no outage: " << watch.stderr_text();
  boot();
  if (HasFatalFailure()) return;
  const auto runs_after_restart = loop.count();

  // The watch goes on: samples again, from the new guest's scheduler.
  for (const auto deadline = Clock::now() + 120s;;) {
    auto sample = next_sample(watch, deadline);
    ASSERT_TRUE(sample) << "no sample from the restarted guest: " << watch.stderr_text();
    EXPECT_EQ(number_at(*sample, "nr_cpus"), 4);
    if (number_at(*sample, "total_requests") < requests_before) break;
  }
  ASSERT_TRUE(loop.wait_for(runs_after_restart, succeeded, 120s)) << "stats never answered after the restart";
  loop.stop();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(30s), 0) << watch.stderr_text();
  ::unsetenv("KTSTATS_RUNTIME_DIR");

  // Every stats command either answered right, on a session of its own,
  // or, only from the shutdown until the restarted guest first answered,
  // said what was wrong. The runs are in the order they ran; one that
  // started after the shutdown began may still have been answered by the
  // old guest, so the guest is back at the first answer after a refusal.
  std::size_t answered = 0, refused = 0;
  bool back = false;
  for (const auto& run : loop.runs()) {
    if (run.outcome.status == 0) {
      ++answered;
      back = back || refused > 0;
      const auto value = json(run.outcome.out);
      ASSERT_TRUE(value) << run.outcome.out;
      EXPECT_EQ(number_at(*value, "nr_cpus"), 4) << run.outcome.out;
      EXPECT_EQ(number_at(*value, "session_reads"), 1) << run.outcome.out;
    } else {
      ++refused;
      EXPECT_GT(run.ended, outage_began) << "failed before the shutdown: " << run.outcome.err;
      EXPECT_FALSE(back) << "failed after the restarted guest answered: " << run.outcome.err;
      EXPECT_NE(run.outcome.err.find("vm1"), std::string::npos) << run.outcome.err;
    }
  }
  std::printf("stats runs: %zu answered, %zu refused during the restart\n", answered, refused);
}

}  // namespace
}  // namespace ktstats::test
