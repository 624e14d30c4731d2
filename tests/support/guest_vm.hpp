#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "line_peer.hpp"
#include "process.hpp"

namespace ktstats::test {

// A QEMU guest (TCG unless KTSTATS_VM_ACCEL says otherwise) booting Debian's
// cloud kernel with a busybox initramfs that holds ktstats-relay, the fake
// scheduler and any extra tools, or a kernel and initramfs of the caller's.
// The relay serves the virtio port org.ktstats.stats, reached on the host at
// stats_socket(); the guest's /init (tests/vm/guest-init, or one like it)
// says "ready RELEASE", then obeys one command per line on a control port.
class GuestVm {
 public:
  struct Options {
    std::string kernel_cache;            // where tests/vm/get-kernel keeps the kernel
    std::string relay;                   // static ktstats-relay
    std::string scheduler;               // static fake-scheduler
    std::vector<std::string> tools;      // more programs, copied with their libraries
    std::vector<std::string> extra_ports;  // more virtio ports, by name
    std::string relay_log_level = "info";
    // A kernel with everything built in, booted instead of Debian's cloud
    // kernel (nothing fetched, no modules), and the program that builds its
    // initramfs, run as BUILDER OUTPUT ARGS...; relay, scheduler and tools
    // are then for the builder's arguments to name.
    std::string kernel_image{};
    std::vector<std::string> initramfs_builder{};
    int memory_mib = 256;
    int cpus = 1;
    // Where QEMU makes the stats port's socket; empty: in the guest's own
    // directory. A path of the caller's outlives the guest, as a VM
    // manager's does when it restarts QEMU.
    std::string stats_socket{};
  };

  explicit GuestVm(Options options);
  ~GuestVm();
  GuestVm(const GuestVm&) = delete;
  GuestVm& operator=(const GuestVm&) = delete;

  // Empty when the guest is up, else what went wrong.
  const std::string& failure() const { return failure_; }
  const std::string& stats_socket() const { return stats_socket_; }
  // The host side of an extra port.
  std::string port_socket(const std::string& name) const { return dir_ / (name + ".sock"); }
  // One command to the guest's /init, its one answer line.
  std::string control(const std::string& command);
  std::string console() const;
  const std::string& kernel_release() const { return kernel_release_; }

 private:
  bool run_step(const std::vector<std::string>& argv, std::chrono::milliseconds limit);

  TempDir dir_;
  std::string stats_socket_;
  std::optional<Process> qemu_;
  std::optional<LinePeer> control_;
  std::string failure_;
  std::string kernel_release_;
};

}  // namespace ktstats::test
