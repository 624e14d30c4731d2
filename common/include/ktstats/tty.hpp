#pragma once

#include <memory>
#include <string>

#include "ktstats/channel.hpp"

namespace ktstats {

// Puts a terminal in raw mode, so the line discipline neither echoes nor
// rewrites bytes (a tty-type port or a pty would otherwise turn "\n" into
// "\r\n" and echo requests back).
Status make_raw(int fd, const std::string& path);

// Opens a tty or pty non-blocking, in raw mode.
Result<std::unique_ptr<Channel>> open_tty_channel(const std::string& path);

}  // namespace ktstats
