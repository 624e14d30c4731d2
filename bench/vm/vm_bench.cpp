// bench_vm: round trips through a real virtio port. The VM test's guest
// runs the fake scheduler with fixed-size answers, ktstats-relay on one
// port and a socat bridge on another; the host times raw request lines
// through QEMU's chardev sockets, interleaving the two bridges.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "guest_vm.hpp"
#include "ktstats/unix_socket.hpp"
#include "interleaved.hpp"
#include "latency.hpp"
#include "round_trip.hpp"

namespace ktstats::bench {
namespace {

using test::GuestVm;

constexpr std::string_view kRequest = "{\"req\":\"stats\"}\n";
constexpr const char* kSocatPort = "org.ktstats.bench-socat";

struct Config {
  std::size_t small_requests = 1000;
  std::size_t big_requests = 50;
  std::size_t rounds = 5;
  std::string socat = "/usr/bin/socat";
};

std::unique_ptr<RoundTripClient> connect_client(const std::string& path) {
  auto fd = connect_unix_socket(path);
  if (!fd) throw std::runtime_error(describe(fd.error()));
  return std::make_unique<RoundTripClient>(std::move(*fd));
}

void expect_ok(const std::string& answer, const std::string& what) {
  if (answer.rfind("ok", 0) != 0) throw std::runtime_error(what + ": " + answer);
}

void compare(GuestVm& vm, const Config& config, std::size_t bytes) {
  // A port has one opener at a time: no socat left from before.
  (void)vm.control("run killall socat");
  (void)vm.control("kill-scheduler");
  expect_ok(vm.control("start-scheduler --reply-bytes " + std::to_string(bytes)), "start-scheduler");
  TimedClient relay{"ktstats-relay", connect_client(vm.stats_socket()), {}};
  TimedClient socat{"socat", connect_client(vm.port_socket(kSocatPort)), {}};
  // socat reads EOF from a port no host holds open, so it starts after the host connects.
  expect_ok(vm.control(std::string("start-socat ") + kSocatPort), "start-socat");
  try {
    warm_up(relay, kRequest, bytes, 10);
    warm_up(socat, kRequest, bytes, 10);
  } catch (const std::runtime_error& error) {
    throw std::runtime_error(std::string(error.what()) + "; guest socat log: " +
                             vm.control("run cat /tmp/socat.log"));
  }
  time_interleaved({&relay, &socat}, kRequest, bytes == 64 ? config.small_requests : config.big_requests,
                   config.rounds);
  const auto r = summarize(relay.samples);
  const auto s = summarize(socat.samples);
  std::printf("| %zu B | %.0f / %.0f | %.0f / %.0f | %.2f | %.2f | %zu | %s |\n", bytes, r.median, r.p99,
              s.median, s.p99, r.median / s.median, r.p99 / s.p99, r.count,
              r.median <= s.median ? "met" : "**missed**");
}

bool answered(RoundTripClient& client) { return client.ask(kRequest).has_value(); }

// What each bridge does across host sessions: one host, then another.
void sessions(GuestVm& vm) {
  (void)vm.control("run killall socat");
  (void)vm.control("kill-scheduler");
  expect_ok(vm.control("start-scheduler --reply-bytes 64"), "start-scheduler");
  expect_ok(vm.control(std::string("start-socat ") + kSocatPort), "start-socat");
  // An observation window, not a synchronisation: does socat outlive it?
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const bool survives_no_host = vm.control("run pidof socat").size() > 3;
  (void)vm.control("run killall socat");

  auto first = connect_client(vm.port_socket(kSocatPort));
  expect_ok(vm.control(std::string("start-socat ") + kSocatPort), "start-socat");
  const bool socat_first = answered(*first);
  first.reset();
  // Commands come seconds apart: the next host comes 2 s later.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const bool socat_second = answered(*connect_client(vm.port_socket(kSocatPort)));
  const bool relay_first = answered(*connect_client(vm.stats_socket()));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const bool relay_second = answered(*connect_client(vm.stats_socket()));
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  std::printf("### Host sessions (a reply within 10 s?)\n\n| | relay | socat |\n|---|---|---|\n");
  // The relay was started at boot, before any host attached.
  std::printf("| bridge started with no host attached, still running later | %s | %s |\n",
              yes(vm.control("relay-alive") == "ok"), yes(survives_no_host));
  std::printf("| first host answered | %s | %s |\n", yes(relay_first), yes(socat_first));
  std::printf("| second host, 2 s after the first disconnected, answered | %s | %s |\n\n", yes(relay_second),
              yes(socat_second));
}

}  // namespace
}  // namespace ktstats::bench

int main(int argc, char** argv) {
  using namespace ktstats::bench;
  Config config;
  CLI::App app{"Round trips through a real virtio port: ktstats-relay and socat in a QEMU guest", "bench_vm"};
  app.add_option("--requests", config.small_requests, "Round trips with 64-byte answers, per bridge")
      ->capture_default_str();
  app.add_option("--big-requests", config.big_requests, "Round trips with 256 KiB answers, per bridge")
      ->capture_default_str();
  app.add_option("--socat", config.socat, "The socat copied into the guest")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    ktstats::test::GuestVm vm({KTSTATS_VM_CACHE_DIR, ktstats::test::program("KTSTATS_RELAY", KTSTATS_RELAY),
                               KTSTATS_FAKE_SCHEDULER_STATIC, {config.socat}, {kSocatPort}});
    if (!vm.failure().empty()) throw std::runtime_error(vm.failure());
    std::printf("## 5. Round trip through a real virtio port (QEMU, kernel %s; µs, median / p99)\n\n",
                vm.kernel_release().c_str());
    std::printf("| response | relay | socat | relay/socat median | relay/socat p99 | requests each | "
                "relay <= socat |\n|---|---|---|---|---|---|---|\n");
    compare(vm, config, 64);
    compare(vm, config, 256 * 1024);
    std::printf("\n");
    sessions(vm);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_vm: %s\n", error.what());
    return 1;
  }
  return 0;
}
