#pragma once

// ktstats serve as a real process in front of one VM: a stand-in VMM
// (tests/support/vmm_bridge), ktstats-relay on its guest side and a
// scheduler behind the relay (the fake scheduler or one of upstream's
// scx_stats programs). Used by the soak and the upstream-scripts tests.
#include <optional>
#include <string>
#include <vector>

#include "line_peer.hpp"
#include "process.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::test {

struct ServedVm {
  ServedVm(const TempDir& dir, const std::string& vm_name)
      : name(vm_name),
        vmm_socket(dir / (vm_name + "-vmm.sock")),
        port_socket(dir / (vm_name + "-port")),
        scheduler_socket(dir / (vm_name + "-stats")) {}

  // The fake scheduler, answering once it prints "ready".
  bool start_fake_scheduler() {
    scheduler.emplace(Process::spawn(
        {program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", scheduler_socket}));
    const auto ready = scheduler->read_line();
    return ready && ready->rfind("ready", 0) == 0;
  }

  // Upstream's example bin/server, answering once it says it listens; it
  // exits when its stdin ends.
  bool start_upstream_server(const std::string& path) {
    Process::Options options;
    options.stdin_pipe = true;
    scheduler.emplace(Process::spawn({path, scheduler_socket}, options));
    for (;;) {
      const auto line = scheduler->read_line();
      if (!line) return false;
      if (line->find("Server listening") != std::string::npos) return true;
    }
  }

  void start_port(const std::vector<std::string>& relay_extra = {}) {
    bridge.emplace(vmm_socket, port_socket);
    std::vector<std::string> argv{program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", port_socket, "--socket",
                                  scheduler_socket, "--log-level", "warn"};
    argv.insert(argv.end(), relay_extra.begin(), relay_extra.end());
    relay.emplace(Process::spawn(argv));
  }

  std::string name;
  std::string vmm_socket;
  std::string port_socket;
  std::string scheduler_socket;
  std::optional<Process> scheduler;
  std::optional<VmmBridge> bridge;
  std::optional<Process> relay;
};

// `ktstats serve` for the given VMs, started and waited for until it
// listens for each and is connected to each.
struct ServeProcess {
  ServeProcess(const TempDir& dir, const std::vector<const ServedVm*>& vms,
               const std::vector<std::string>& extra = {})
      : runtime(dir / "run") {
    std::vector<std::string> argv{program("KTSTATS", KTSTATS), "serve", "--runtime-dir", runtime};
    for (const auto* vm : vms) {
      argv.insert(argv.end(), {"--vm", vm->name + "=unix:" + vm->vmm_socket});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    process.emplace(Process::spawn(argv));
    for (const auto* vm : vms) {
      if (!process->wait_for_stderr(vm->name + ": connected to", 30s)) return;
    }
    started = true;
  }

  std::string socket_of(const std::string& vm_name) const { return runtime + "/" + vm_name + "/stats"; }

  std::string runtime;
  std::optional<Process> process;
  bool started = false;
};

}  // namespace ktstats::test
