#pragma once

#include <string>
#include <thread>

#include "ktstats/unique_fd.hpp"

namespace ktstats::test {

// Stands in for a VMM's console port without a VM: listens on host_path
// for the host command (one client at a time, as QEMU's chardev socket) and
// on guest_path for ktstats-relay's --port connection, and copies bytes
// between them. When the host client leaves, the relay's connection is
// closed, as a virtio port reads EOF in the guest.
class VmmBridge {
 public:
  VmmBridge(std::string host_path, std::string guest_path);
  ~VmmBridge();
  VmmBridge(const VmmBridge&) = delete;
  VmmBridge& operator=(const VmmBridge&) = delete;

 private:
  void run();

  UniqueFd host_listener_;
  UniqueFd guest_listener_;
  UniqueFd stop_;
  std::thread thread_;
};

}  // namespace ktstats::test
