#pragma once

#include <memory>
#include <string>

#include "ktstats/channel.hpp"

namespace ktstats {

// Connects a non-blocking stream socket to a Unix socket path. Transport
// errors carry the errno, so callers can tell ENOENT (nothing there),
// ECONNREFUSED (nobody listening) and EAGAIN (backlog full) apart.
Result<UniqueFd> connect_unix_socket(const std::string& path);

// A channel over a connected Unix socket.
Result<std::unique_ptr<Channel>> open_unix_channel(const std::string& path);

}  // namespace ktstats
