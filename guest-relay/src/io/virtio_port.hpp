#pragma once

#include <memory>
#include <string>

#include "ktstats/channel.hpp"

namespace ktstats::relay {

// Opens whatever the port path is: a virtio-serial port (/dev/vportNpM), a
// tty-type port (hvc, ttyS, pty; put in raw mode), or a Unix socket that
// stands in for the port in tests (the relay connects, and reconnects after
// each session).
Result<std::unique_ptr<Channel>> open_port(const std::string& path);

// An inherited descriptor (a socketpair end in tests): finished at EOF.
std::unique_ptr<Channel> adopt_port_fd(int fd);

}  // namespace ktstats::relay
