// bench_bridge: ktstats-relay against a client talking to the scheduler
// directly (the physical limit), a socat bridge and a minimal forwarder in
// the relay's place, all in one run, interleaved so that machine noise hits every
// contender alike. Prints Markdown tables with each target met or missed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ktstats/unix_socket.hpp"
#include "interleaved.hpp"
#include "latency.hpp"
#include "line_peer.hpp"
#include "process.hpp"
#include "round_trip.hpp"
#include "timed_run.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::bench {
namespace {

using test::Listener;
using test::Process;
using test::TempDir;
using test::program;

constexpr std::string_view kRequest = "{\"req\":\"stats\",\"args\":{\"target\":\"top\"}}\n";

struct Config {
  std::size_t small_requests = 20000;
  std::size_t big_requests = 1000;
  std::size_t rounds = 10;
  std::size_t one_shots = 200;
  std::string socat = "/usr/bin/socat";
  bool round_trips_only = false;
  // Another ktstats-relay binary (an earlier commit's) timed beside this one.
  std::string baseline_relay;
};

// Thrown, not exit()ed: the destructors kill the processes started so far.
[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::string relay_path() { return program("KTSTATS_RELAY", KTSTATS_RELAY); }

Process start_scheduler(const std::string& socket, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", socket};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto scheduler = Process::spawn(argv);
  auto ready = scheduler.read_line();
  if (!ready || ready->rfind("ready", 0) != 0) fail("the fake scheduler did not start: " + scheduler.stderr_text());
  return scheduler;
}

// One way of reaching the scheduler: a client, and the bridge process
// between it and the scheduler if there is one.
struct Contender {
  TimedClient timed;
  std::optional<Listener> port;
  std::optional<Process> bridge;
};

Contender direct(const std::string& scheduler_socket) {
  auto fd = connect_unix_socket(scheduler_socket);
  if (!fd) fail(describe(fd.error()));
  return {{"direct", std::make_unique<RoundTripClient>(std::move(*fd)), {}}, {}, {}};
}

// A bridge connects to a listening socket standing in for the VMM's port.
Contender bridged(std::string name, const std::string& port_path, std::vector<std::string> argv) {
  Contender contender{{std::move(name), {}, {}}, Listener(port_path), {}};
  contender.bridge.emplace(Process::spawn(argv));
  auto fd = contender.port->accept();
  if (!fd.valid()) fail(contender.timed.name + " did not connect: " + contender.bridge->stderr_text());
  contender.timed.client = std::make_unique<RoundTripClient>(std::move(fd));
  return contender;
}

Contender relay(const std::string& port_path, const std::string& scheduler_socket,
                const std::string& binary = relay_path(), std::string name = "ktstats-relay") {
  return bridged(std::move(name), port_path,
                 {binary, "--port", port_path, "--socket", scheduler_socket, "--log-level", "warn"});
}

Contender forwarder(const std::string& port_path, const std::string& scheduler_socket) {
  return bridged("minimal forwarder", port_path, {BENCH_FORWARDER, port_path, scheduler_socket});
}

Contender socat(const Config& config, const std::string& port_path, const std::string& scheduler_socket) {
  return bridged("socat", port_path,
                 {config.socat, "UNIX-CONNECT:" + port_path, "UNIX-CONNECT:" + scheduler_socket});
}

const char* verdict(bool met) { return met ? "met" : "**missed**"; }

struct Summaries {
  std::string tag;
  Summary relay;
  Summary baseline;
};

// This relay against the baseline binary, timed in the same interleaved run.
void print_baseline(const Config& config, const std::vector<Summaries>& rows) {
  std::printf("### 1a. This relay against the baseline relay (%s), same run\n\n",
              config.baseline_relay.c_str());
  std::printf("| response | this relay (b) | baseline relay (e) | (b)/(e) median | (b)/(e) p99 |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& row : rows) {
    std::printf("| %s B | %.1f / %.1f | %.1f / %.1f | %.2f | %.2f |\n", row.tag.c_str(), row.relay.median,
                row.relay.p99, row.baseline.median, row.baseline.p99, row.relay.median / row.baseline.median,
                row.relay.p99 / row.baseline.p99);
  }
  std::printf("\n");
}

void round_trips(const Config& config, const TempDir& dir) {
  std::vector<Summaries> against_baseline;
  std::printf("## 1. Request round trip (µs, median / p99)\n\n");
  std::printf("| response | direct (a) | relay (b) | socat (c) | minimal forwarder (d) | (b)/(a) median | "
              "(b)/(c) median | (b)/(c) p99 | (b)/(d) median | requests each | target |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::size_t bytes : {std::size_t{64}, std::size_t{256} * 1024}) {
    const auto tag = std::to_string(bytes);
    auto scheduler = start_scheduler(dir / ("sched-" + tag), {"--reply-bytes", tag});
    std::vector<Contender> contenders;
    contenders.push_back(direct(dir / ("sched-" + tag)));
    contenders.push_back(relay(dir / ("relay-port-" + tag), dir / ("sched-" + tag)));
    contenders.push_back(socat(config, dir / ("socat-port-" + tag), dir / ("sched-" + tag)));
    contenders.push_back(forwarder(dir / ("forwarder-port-" + tag), dir / ("sched-" + tag)));
    if (!config.baseline_relay.empty()) {
      contenders.push_back(relay(dir / ("baseline-port-" + tag), dir / ("sched-" + tag),
                                 config.baseline_relay, "baseline ktstats-relay"));
    }
    std::vector<TimedClient*> clients;
    for (auto& contender : contenders) {
      warm_up(contender.timed, kRequest, bytes, 100);
      clients.push_back(&contender.timed);
    }
    const std::size_t count = bytes == 64 ? config.small_requests : config.big_requests;
    time_interleaved(clients, kRequest, count, config.rounds);
    const auto a = summarize(contenders[0].timed.samples);
    const auto b = summarize(contenders[1].timed.samples);
    const auto c = summarize(contenders[2].timed.samples);
    const auto d = summarize(contenders[3].timed.samples);
    if (!config.baseline_relay.empty()) {
      against_baseline.push_back({tag, b, summarize(contenders[4].timed.samples)});
    }
    const bool met = b.median <= c.median && (bytes != 64 || b.median <= 1.3 * a.median);
    std::printf("| %s B | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.2f | %.2f | %.2f | %.2f "
                "| %zu | %s%s |\n",
                tag.c_str(), a.median, a.p99, b.median, b.p99, c.median, c.p99, d.median, d.p99,
                b.median / a.median, b.median / c.median, b.p99 / c.p99, b.median / d.median, b.count,
                bytes == 64 ? "(b) <= 1.3 (a) and (b) <= (c): " : "(b) <= (c): ", verdict(met));
  }
  std::printf("\n");
  if (!against_baseline.empty()) print_baseline(config, against_baseline);
}

struct OneShot {
  std::string name;
  std::vector<std::string> argv;
  std::string input;
  std::vector<double> wall_ms;
  long max_rss_kib = 0;
};

void one_shots(const Config& config, const TempDir& dir) {
  auto scheduler = start_scheduler(dir / "sched-stats");
  test::VmmBridge vmm(dir / "vmm-host", dir / "vmm-guest");
  auto relay = Process::spawn({relay_path(), "--port", dir / "vmm-guest", "--socket", dir / "sched-stats",
                               "--log-level", "warn"});
  const std::string ktstats = program("KTSTATS", KTSTATS);
  std::vector<OneShot> commands{
      {"`ktstats stats`, direct", {ktstats, "--connect", "scx:" + dir / "sched-stats", "stats"}, "", {}, 0},
      {"`socat` with the request line, direct", {config.socat, "-", "UNIX-CONNECT:" + dir / "sched-stats"},
       std::string(kRequest), {}, 0},
      {"`ktstats stats`, through the relay",
       {ktstats, "--connect", "unix:" + dir / "vmm-host", "stats"}, "", {}, 0},
  };
  for (std::size_t i = 0; i < config.one_shots; ++i) {
    for (auto& command : commands) {
      const auto run = run_timed(command.argv, command.input);
      if (run.status != 0 || run.out.find("total_requests") == std::string::npos) {
        fail(command.name + " failed (status " + std::to_string(run.status) + "): " + run.out);
      }
      command.wall_ms.push_back(run.wall_ms);
      command.max_rss_kib = std::max(command.max_rss_kib, run.max_rss_kib);
    }
  }
  std::printf("## 2. One-shot command (%zu runs each, interleaved)\n\n", config.one_shots);
  std::printf("| command | wall median (ms) | wall p99 (ms) | peak RSS (KiB) |\n|---|---|---|---|\n");
  for (const auto& command : commands) {
    const auto wall = summarize(command.wall_ms);
    std::printf("| %s | %.2f | %.2f | %ld |\n", command.name.c_str(), wall.median, wall.p99,
                command.max_rss_kib);
  }
  const double ratio = summarize(commands[0].wall_ms).median / summarize(commands[1].wall_ms).median;
  std::printf("\n`ktstats stats` / socat, direct: %.2f x (target <= 2 x: %s); peak RSS %ld KiB "
              "(target <= 8192 KiB: %s)\n\n",
              ratio, verdict(ratio <= 2.0), commands[0].max_rss_kib,
              verdict(commands[0].max_rss_kib <= 8192 && commands[2].max_rss_kib <= 8192));
}

// CPU time of a bridge process per 1,000 requests, and its RSS before and
// after 10,000 of them.
struct Footprint {
  std::size_t rss_idle_kib = 0;
  std::size_t rss_after_kib = 0;
  std::size_t rss_max_kib = 0;
  double cpu_ms_per_1000 = 0;
};

Footprint footprint(Contender contender) {
  constexpr std::size_t kRequests = 10000;
  const pid_t pid = contender.bridge->pid();
  Footprint result;
  result.rss_idle_kib = test::rss_kib(pid);
  const auto cpu_before = test::cpu_time_ns(pid);
  for (std::size_t i = 0; i < kRequests; ++i) {
    if (!contender.timed.client->ask(kRequest)) fail(contender.timed.name + ": a request failed");
    if ((i + 1) % 1000 == 0) result.rss_max_kib = std::max(result.rss_max_kib, test::rss_kib(pid));
  }
  result.cpu_ms_per_1000 = static_cast<double>(test::cpu_time_ns(pid) - cpu_before) / 1e6 / (kRequests / 1000);
  result.rss_after_kib = test::rss_kib(pid);
  return result;
}

void relay_footprint(const Config& config, const TempDir& dir) {
  struct stat info {};
  if (::stat(relay_path().c_str(), &info) != 0) fail("cannot stat " + relay_path());
  auto scheduler = start_scheduler(dir / "sched-footprint", {"--reply-bytes", "64"});
  const auto relay_figures = footprint(relay(dir / "relay-port-footprint", dir / "sched-footprint"));
  const auto socat_figures = footprint(socat(config, dir / "socat-port-footprint", dir / "sched-footprint"));
  const auto size = static_cast<double>(info.st_size);
  std::printf("## 3. The relay process (10,000 requests of 64 B)\n\n");
  std::printf("| figure | ktstats-relay | socat | target |\n|---|---|---|---|\n");
  std::printf("| static stripped binary | %.0f B (%.2f MiB) | (dynamic) | <= 1.5 MiB: %s |\n", size,
              size / (1 << 20), verdict(size <= 1.5 * (1 << 20)));
  std::printf("| RSS idle | %zu KiB | %zu KiB | <= 2048 KiB: %s |\n", relay_figures.rss_idle_kib,
              socat_figures.rss_idle_kib, verdict(relay_figures.rss_idle_kib <= 2048));
  std::printf("| RSS after 10,000 requests (max sampled every 1,000) | %zu KiB (%zu) | %zu KiB (%zu) | "
              "flat, <= 2048 KiB: %s |\n",
              relay_figures.rss_after_kib, relay_figures.rss_max_kib, socat_figures.rss_after_kib,
              socat_figures.rss_max_kib,
              verdict(relay_figures.rss_max_kib <= 2048 &&
                      relay_figures.rss_max_kib <= relay_figures.rss_idle_kib + 64));
  std::printf("| CPU time per 1,000 requests | %.1f ms | %.1f ms | |\n\n", relay_figures.cpu_ms_per_1000,
              socat_figures.cpu_ms_per_1000);
}

}  // namespace
}  // namespace ktstats::bench

int main(int argc, char** argv) {
  using namespace ktstats::bench;
  Config config;
  CLI::App app{"ktstats-relay against direct access and a socat bridge, side by side", "bench_bridge"};
  app.add_option("--requests", config.small_requests, "Round trips with 64-byte answers, per contender")
      ->capture_default_str();
  app.add_option("--big-requests", config.big_requests, "Round trips with 256 KiB answers, per contender")
      ->capture_default_str();
  app.add_option("--one-shots", config.one_shots, "Runs of each one-shot command")->capture_default_str();
  app.add_option("--socat", config.socat, "The socat program")->capture_default_str();
  app.add_flag("--round-trips-only", config.round_trips_only, "Measure the round trips (section 1) only");
  app.add_option("--baseline-relay", config.baseline_relay,
                 "Another ktstats-relay binary (an earlier commit's) to time beside this one")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (::access(config.socat.c_str(), X_OK) != 0) fail(config.socat + " not found (apt-get install -y socat)");

  std::signal(SIGPIPE, SIG_IGN);
  try {
    ktstats::test::TempDir dir;
    round_trips(config, dir);
    if (!config.round_trips_only) {
      one_shots(config, dir);
      relay_footprint(config, dir);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_bridge: %s\n", error.what());
    return 1;
  }
  return 0;
}
