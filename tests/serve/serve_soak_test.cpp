// Soak of ktstats serve: 100 clients, each sending 10 requests a second on
// its own connection, through one serve and one ktstats-relay (behind a
// stand-in VMM) to the fake scheduler. Every request must be answered, on
// the client's own session, without error; serve's descriptors and
// resident memory are sampled every 2 s and must stay flat. Prints the
// samples, the latency and serve's CPU per 1,000 requests for
// docs/RELIABILITY.md and docs/PERFORMANCE.md.
//
// 20 s by default, so that CI stays short; KTSTATS_SERVE_SOAK_SECONDS=60
// runs the full minute.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "ktstats/json_line.hpp"
#include "serve_harness.hpp"

namespace ktstats::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kClients = 100;
constexpr auto kRequestPeriod = 100ms;  // 10 requests a second per client
constexpr auto kSamplePeriod = 2s;
// Resident memory may grow this much over the first sample (allocator
// pools settling), never steadily.
constexpr std::size_t kRssSlackKib = 512;

std::chrono::seconds soak_length() {
  const char* text = std::getenv("KTSTATS_SERVE_SOAK_SECONDS");
  const int seconds = text ? std::atoi(text) : 0;
  return std::chrono::seconds(seconds > 0 ? seconds : 20);
}

// What all clients saw: failures (with the first one's text), latencies.
class Tally {
 public:
  void fail(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (errors_++ == 0) first_error_ = what;
  }
  void add(std::vector<double> latencies_us) {
    std::lock_guard lock(mutex_);
    latencies_us_.insert(latencies_us_.end(), latencies_us.begin(), latencies_us.end());
  }
  std::size_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }
  std::vector<double>& latencies_us() { return latencies_us_; }

 private:
  std::mutex mutex_;
  std::size_t errors_ = 0;
  std::string first_error_;
  std::vector<double> latencies_us_;
};

// One client's loop: a request every period until `end`, each answer
// checked to be its own (the count of reads on its own session).
void run_client(const std::string& socket, int index, Clock::time_point start, Clock::time_point end,
                Tally& tally) {
  auto peer = LinePeer::connect(socket);
  std::vector<double> latencies;
  // Spread over the first period, so the load is even.
  auto next = start + kRequestPeriod * index / kClients;
  std::uint64_t reads = 0;
  const std::string request = R"({"req":"stats","args":{"target":"top"}})";
  while (next < end) {
    std::this_thread::sleep_until(next);  // pacing the load, not waiting for an event
    next += kRequestPeriod;
    const auto sent = Clock::now();
    if (!peer.send_line(request)) {
      tally.fail("client " + std::to_string(index) + ": write failed");
      return;
    }
    const auto answer = peer.read_line(20s);
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
    if (!answer) {
      tally.fail("client " + std::to_string(index) + ": no answer to request " + std::to_string(reads + 1));
      return;
    }
    const auto parsed = parse_json_line(*answer);
    const auto* object = parsed ? parsed->if_object() : nullptr;
    const bool good = object && object->contains("errno") && object->at("errno") == 0 &&
                      object->at("args").at("resp").at("session_reads").to_number<std::uint64_t>() == reads + 1;
    if (!good) {
      tally.fail("client " + std::to_string(index) + ", request " + std::to_string(reads + 1) + ": " + *answer);
      return;
    }
    ++reads;
  }
  tally.add(std::move(latencies));
}

struct Sample {
  double seconds;
  std::size_t fds;
  std::size_t rss_kib;
};

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

TEST(ServeSoak, HundredClientsTenRequestsASecondEach) {
  TempDir dir;
  ServedVm vm(dir, "vm1");
  ASSERT_TRUE(vm.start_fake_scheduler()) << vm.scheduler->stderr_text();
  // One session per client: more than the relay's default 64.
  vm.start_port({"--max-sessions", "128"});
  ServeProcess serve(dir, {&vm});
  ASSERT_TRUE(serve.started) << serve.process->stderr_text();
  const pid_t pid = serve.process->pid();

  const auto length = soak_length();
  const auto start = Clock::now() + 500ms;  // every client connected first
  const auto end = start + length;
  Tally tally;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back(run_client, serve.socket_of("vm1"), i, start, end, std::ref(tally));
  }

  // The first sample once every client has its session (after the first
  // period), then every 2 s; CPU counted from the first sample on.
  std::vector<Sample> samples;
  std::this_thread::sleep_until(start + 2 * kRequestPeriod);
  const auto cpu_before = cpu_time_ns(pid);
  const auto measured_from = Clock::now();
  for (auto at = start + 2 * kRequestPeriod; at < end; at += kSamplePeriod) {
    std::this_thread::sleep_until(at);
    samples.push_back({std::chrono::duration<double>(Clock::now() - start).count(), open_fd_count(pid),
                       rss_kib(pid)});
  }
  for (auto& client : clients) client.join();
  const auto cpu_ns = cpu_time_ns(pid) - cpu_before;
  const double measured_s = std::chrono::duration<double>(Clock::now() - measured_from).count();

  auto& latencies = tally.latencies_us();
  const double requests = static_cast<double>(latencies.size());
  std::printf("serve soak: %d clients x 10 requests/s for %lld s: %zu requests, %zu errors\n", kClients,
              static_cast<long long>(length.count()), latencies.size(), tally.errors());
  std::printf("latency (us): median %.0f, p99 %.0f, max %.0f\n", percentile(latencies, 0.5),
              percentile(latencies, 0.99), percentile(latencies, 1.0));
  std::printf("serve CPU: %.1f ms per 1,000 requests (%.1f %% of one CPU)\n",
              static_cast<double>(cpu_ns) / 1e6 / (requests * measured_s / length.count() / 1000),
              static_cast<double>(cpu_ns) / 1e9 / measured_s * 100);
  std::printf("%8s  %4s  %8s\n", "seconds", "fds", "rss_kib");
  for (const auto& s : samples) std::printf("%8.1f  %4zu  %8zu\n", s.seconds, s.fds, s.rss_kib);

  EXPECT_EQ(tally.errors(), 0u) << "first: " << tally.first_error() << "\n" << serve.process->stderr_text();
  EXPECT_GE(latencies.size(), static_cast<std::size_t>(kClients) * 10 * length.count() * 9 / 10);
  ASSERT_FALSE(samples.empty());
  for (const auto& s : samples) {
    EXPECT_EQ(s.fds, samples.front().fds) << "at " << s.seconds << " s";
    if (!kSanitizerBuild) {
      EXPECT_LE(s.rss_kib, samples.front().rss_kib + kRssSlackKib) << "at " << s.seconds << " s";
    }
  }
}

}  // namespace
}  // namespace ktstats::test
