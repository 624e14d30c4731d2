#pragma once

#include <memory>
#include <string>

#include "ktstats/channel.hpp"

namespace ktstats::relay {

// What EOF on the port means: the relay's policy, by what the port is.
enum class AfterEof {
  kPeerMayReturn,  // virtio port or tty: the same descriptor works again when a host attaches
  kReconnect,      // a Unix socket standing in for the port: connect again
  kFinished,       // an inherited descriptor: nothing more will come
};

// The port as a channel, with what its EOF means.
struct PortChannel {
  std::unique_ptr<Channel> channel;
  AfterEof after_eof = AfterEof::kFinished;
};

// Opens whatever the port path is: a virtio-serial port (/dev/vportNpM), a
// tty-type port (hvc, ttyS, pty; put in raw mode), or a Unix socket that
// stands in for the port in tests and VMM bridges (the relay connects, and
// reconnects after each host).
Result<PortChannel> open_port_channel(const std::string& path);

// An inherited descriptor (a socketpair end in tests): finished at EOF.
PortChannel adopt_port_fd(int fd);

}  // namespace ktstats::relay
