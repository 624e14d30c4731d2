#pragma once

#include <cstdint>
#include <string_view>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// Whether a kernel uevent message announces a virtio port that may now be
// found by name: one added, or changed (a port's name reaches sysfs after
// its device node, and the kernel says so with a "change" event). The
// message is "ACTION@DEVPATH", then KEY=VALUE fields, each NUL-terminated.
bool announces_virtio_port(std::string_view message);

// Hears the kernel announce virtio ports, through a NETLINK_KOBJECT_UEVENT
// socket, so the relay looks for a named port again when its name appears:
// no change in /dev says so. Open only while the relay looks for a port by
// name; every uevent of the machine wakes it, so it costs nothing while
// nothing is plugged in or renamed. Messages not sent by the kernel itself
// are ignored.
class UeventWatcher {
 public:
  // Opens the socket, if it is not open. Fails where netlink is not allowed
  // (a sandbox limiting address families): the owner then relies on /dev.
  Status start();
  void stop() { socket_.reset(); }
  bool watching() const { return socket_.valid(); }

  // Reads everything pending: true when a message announced a virtio port,
  // or when messages were lost (the socket's buffer overran).
  bool port_announced();

  // For the poller.
  int fd() const { return socket_.get(); }
  std::uint64_t serial() const { return serial_; }

 private:
  UniqueFd socket_;
  std::uint64_t serial_ = 0;
};

}  // namespace ktstats::relay
