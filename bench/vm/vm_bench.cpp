// bench_vm: round trips through a real virtio port. The VM test's guest
// runs the fake scheduler with fixed-size answers, ktstats-relay on one
// port and a socat bridge on another; the host times raw request lines
// through QEMU's chardev sockets, interleaving the two bridges.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "guest_vm.hpp"
#include "ktstats/unix_socket.hpp"
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

struct Contender {
  std::string name;
  std::unique_ptr<RoundTripClient> client;
  std::vector<double> samples;
};

void warm_up(Contender& contender, std::size_t bytes) {
  for (int i = 0; i < 10; ++i) {
    if (contender.client->ask(kRequest) != bytes) {
      throw std::runtime_error(contender.name + ": wrong answer during warm-up");
    }
  }
}

void compare(GuestVm& vm, const Config& config, std::size_t bytes) {
  (void)vm.control("kill-scheduler");
  expect_ok(vm.control("start-scheduler --reply-bytes " + std::to_string(bytes)), "start-scheduler");
  std::vector<Contender> contenders;
  contenders.push_back({"ktstats-relay", connect_client(vm.stats_socket()), {}});
  contenders.push_back({"socat", connect_client(vm.port_socket(kSocatPort)), {}});
  // socat reads EOF from a port no host holds open, so it starts after the host connects.
  expect_ok(vm.control(std::string("start-socat ") + kSocatPort), "start-socat");
  try {
    for (auto& contender : contenders) warm_up(contender, bytes);
  } catch (const std::runtime_error& error) {
    throw std::runtime_error(std::string(error.what()) + "; guest socat log: " +
                             vm.control("run cat /tmp/socat.log"));
  }
  const std::size_t total = bytes == 64 ? config.small_requests : config.big_requests;
  for (std::size_t round = 0; round < config.rounds; ++round) {
    for (std::size_t i = 0; i < contenders.size(); ++i) {
      auto& contender = contenders[(round + i) % contenders.size()];
      auto samples = contender.client->time(kRequest, total / config.rounds);
      if (samples.empty()) throw std::runtime_error(contender.name + ": a round trip failed");
      contender.samples.insert(contender.samples.end(), samples.begin(), samples.end());
    }
  }
  const auto relay = summarize(contenders[0].samples);
  const auto socat = summarize(contenders[1].samples);
  std::printf("| %zu B | %.0f / %.0f | %.0f / %.0f | %.2f | %.2f | %zu | %s |\n", bytes, relay.median,
              relay.p99, socat.median, socat.p99, relay.median / socat.median, relay.p99 / socat.p99,
              relay.count, relay.median <= socat.median ? "met" : "**missed**");
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
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_vm: %s\n", error.what());
    return 1;
  }
  return 0;
}
