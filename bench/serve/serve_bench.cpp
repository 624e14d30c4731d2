// bench_serve: ktstats serve's cost. The 64 B round trip of ktstats' own
// client (StatsClient, as `ktstats stats` and `watch` use it) through
// serve's socket, against the same client straight to a VMM's socket; both
// reach ktstats-relay behind a stand-in VMM (tests/support/vmm_bridge) and
// the fake scheduler, timed interleaved in one run. Beside them, the same
// client through a process that only copies bytes, in serve's place (the
// minimal forwarder of bench_bridge, and socat): the floor of any daemon
// between the client and the VMM. Then serve's resident memory with 16 VMs
// configured. Prints Markdown tables for
// docs/PERFORMANCE.md with each target met or missed.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/endpoint.hpp"
#include "client/interrupt.hpp"
#include "client/stats_client.hpp"
#include "latency.hpp"
#include "line_peer.hpp"
#include "process.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::bench {
namespace {

using Clock = std::chrono::steady_clock;
using test::Process;
using test::TempDir;
using test::program;

constexpr std::string_view kRequest = R"({"req":"stats","args":{"target":"top"}})";

struct Config {
  std::size_t requests = 20000;
  std::size_t rounds = 10;
  std::size_t vms = 16;
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

const char* verdict(bool met) { return met ? "met" : "**missed**"; }

Process start_scheduler(const std::string& socket) {
  auto scheduler = Process::spawn({program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", socket,
                                   "--reply-bytes", "64"});
  auto ready = scheduler.read_line();
  if (!ready || ready->rfind("ready", 0) != 0) fail("the fake scheduler did not start: " + scheduler.stderr_text());
  return scheduler;
}

// A VM without a VM: the VMM's socket (a bridge), the relay on its guest
// side, the scheduler's socket behind it.
struct StandInVm {
  StandInVm(const TempDir& dir, const std::string& name, const std::string& scheduler_socket)
      : vmm_socket(dir / (name + "-vmm")),
        bridge(vmm_socket, dir / (name + "-port")),
        relay(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", dir / (name + "-port"),
                              "--socket", scheduler_socket, "--log-level", "warn"})) {}
  std::string vmm_socket;
  test::VmmBridge bridge;
  Process relay;
};

Process start_serve(const TempDir& dir, const std::vector<std::pair<std::string, const StandInVm*>>& vms) {
  std::vector<std::string> argv{program("KTSTATS", KTSTATS), "serve", "--runtime-dir", dir / "run"};
  for (const auto& [name, vm] : vms) argv.insert(argv.end(), {"--vm", name + "=unix:" + vm->vmm_socket});
  auto serve = Process::spawn(argv);
  for (const auto& [name, vm] : vms) {
    if (!serve.wait_for_stderr(name + ": connected to", std::chrono::seconds(30))) {
      fail("serve did not connect to " + name + ": " + serve.stderr_text());
    }
  }
  return serve;
}

// A process in serve's place that copies bytes between the client and a
// VMM's socket: `listening` is what it logs once its socket is there.
Process start_copier(std::vector<std::string> argv, std::string_view listening) {
  auto copier = Process::spawn(argv);
  const bool ready = listening.empty() ? copier.read_line().value_or("") == "ready"
                                       : copier.wait_for_stderr(listening, std::chrono::seconds(10));
  if (!ready) fail(argv.front() + " did not start: " + copier.stderr_text());
  return copier;
}

// ktstats' own client on an endpoint, its round trips timed.
struct Timed {
  std::string name;
  std::unique_ptr<cli::StatsClient> client;
  std::vector<double> samples;
};

Timed open_client(const std::string& name, const std::string& uri, const cli::Interrupt& interrupt) {
  const auto endpoint = cli::parse_endpoint(uri);
  if (!endpoint) fail("bad endpoint " + uri);
  auto client = cli::StatsClient::open(*endpoint, true, interrupt, cli::Deadline::after(std::chrono::seconds(10)));
  if (!client) fail(name + ": cannot open " + uri);
  return {name, std::move(*client), {}};
}

void ask(Timed& timed) {
  auto answer = timed.client->exchange(kRequest, cli::Deadline::after(std::chrono::seconds(10)));
  if (!answer || answer->size() != 63) fail(timed.name + ": a request failed");
}

// `total` round trips each, in `rounds` blocks, each round starting with
// the next contender, so that machine noise hits them alike.
void time_interleaved(std::vector<Timed*> contenders, std::size_t total, std::size_t rounds) {
  const std::size_t block = total / rounds;
  for (std::size_t round = 0; round < rounds; ++round) {
    for (std::size_t k = 0; k < contenders.size(); ++k) {
      Timed& timed = *contenders[(round + k) % contenders.size()];
      for (std::size_t i = 0; i < block; ++i) {
        const auto start = Clock::now();
        ask(timed);
        timed.samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      }
    }
  }
}

void round_trip(const Config& config, const TempDir& dir, const cli::Interrupt& interrupt) {
  auto scheduler = start_scheduler(dir / "sched");
  StandInVm straight(dir, "straight", dir / "sched");
  StandInVm served(dir, "served", dir / "sched");
  StandInVm forwarded(dir, "forwarded", dir / "sched");
  StandInVm socat_vm(dir, "socat", dir / "sched");
  auto serve = start_serve(dir, {{"vm1", &served}});
  auto forwarder = start_copier({BENCH_FORWARDER, "--listen", dir / "forwarder", forwarded.vmm_socket}, "");
  auto socat = start_copier({"/usr/bin/socat", "-d", "-d", "UNIX-LISTEN:" + (dir / "socat"), "UNIX-CONNECT:" + socat_vm.vmm_socket},
                            "listening on");
  ::setenv(cli::kServeRuntimeDirVariable, (dir / "run").c_str(), 1);
  Timed a = open_client("straight to the VMM socket", "unix:" + straight.vmm_socket, interrupt);
  Timed b = open_client("through serve", "vm:vm1", interrupt);
  Timed c = open_client("through the minimal forwarder", "unix:" + (dir / "forwarder"), interrupt);
  Timed d = open_client("through socat", "unix:" + (dir / "socat"), interrupt);
  for (auto* timed : {&a, &b, &c, &d}) {
    for (int i = 0; i < 200; ++i) ask(*timed);
  }
  time_interleaved({&a, &b, &c, &d}, config.requests, config.rounds);
  const auto sa = summarize(a.samples);
  const auto sb = summarize(b.samples);
  const auto sc = summarize(c.samples);
  const auto sd = summarize(d.samples);
  std::printf("## serve 1. 64 B round trip, ktstats' own client (µs, median / p99)\n\n");
  std::printf("In serve's place: (c) a process that only copies bytes (bench_forwarder --listen), "
              "(d) socat.\n\n");
  std::printf("| straight to the VMM socket (a) | through serve (b) | minimal forwarder (c) | socat (d) | "
              "(b)/(a) median | (b)/(a) p99 | (c)/(a) median | (b)/(c) median | (b)/(c) p99 | requests each | "
              "target |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %zu | "
              "(b) <= 1.15 (a) median: %s |\n\n",
              sa.median, sa.p99, sb.median, sb.p99, sc.median, sc.p99, sd.median, sd.p99, sb.median / sa.median,
              sb.p99 / sa.p99, sc.median / sa.median, sb.median / sc.median, sb.p99 / sc.p99, sb.count,
              verdict(sb.median <= 1.15 * sa.median));
}

// serve with `vms` VMs, each behind its own relay: resident memory once
// it listens, after one client per VM has asked (each client's session
// open), and after they left.
void footprint(const Config& config, const TempDir& dir, const cli::Interrupt& interrupt) {
  auto scheduler = start_scheduler(dir / "sched-many");
  std::vector<std::unique_ptr<StandInVm>> vms;
  std::vector<std::pair<std::string, const StandInVm*>> named;
  for (std::size_t i = 0; i < config.vms; ++i) {
    vms.push_back(std::make_unique<StandInVm>(dir, "many" + std::to_string(i), dir / "sched-many"));
    named.emplace_back("many" + std::to_string(i), vms.back().get());
  }
  TempDir serve_dir;
  auto serve = start_serve(serve_dir, named);
  ::setenv(cli::kServeRuntimeDirVariable, (serve_dir / "run").c_str(), 1);
  const auto rss_listening = test::rss_kib(serve.pid());
  std::size_t rss_with_clients = 0;
  {
    std::vector<Timed> clients;
    for (const auto& [name, vm] : named) {
      clients.push_back(open_client(name, "vm:" + name, interrupt));
      for (int i = 0; i < 100; ++i) ask(clients.back());
    }
    rss_with_clients = test::rss_kib(serve.pid());
  }
  // The clients gone: ask once more, so serve has seen them leave.
  Timed last = open_client("last", "vm:" + named.front().first, interrupt);
  ask(last);
  const auto rss_after = test::rss_kib(serve.pid());
  std::printf("## serve 2. serve's resident memory with %zu VMs configured (KiB)\n\n", config.vms);
  std::printf("| listening, connected | one client per VM, 100 requests each | clients gone | target |\n"
              "|---|---|---|---|\n");
  std::printf("| %zu | %zu | %zu | <= 16384: %s |\n\n", rss_listening, rss_with_clients, rss_after,
              verdict(std::max({rss_listening, rss_with_clients, rss_after}) <= 16384));
}

}  // namespace
}  // namespace ktstats::bench

int main(int argc, char** argv) {
  using namespace ktstats::bench;
  Config config;
  CLI::App app{"ktstats serve against ktstats' own client straight to the VMM socket", "bench_serve"};
  app.add_option("--requests", config.requests, "Round trips per contender")->capture_default_str();
  app.add_option("--vms", config.vms, "VMs configured for the memory figure")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto interrupt = ktstats::cli::Interrupt::install();
    if (!interrupt) fail("cannot install the interrupt handler");
    TempDir dir;
    round_trip(config, dir, *interrupt);
    footprint(config, dir, *interrupt);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_serve: %s\n", error.what());
    return 1;
  }
  return 0;
}
