#pragma once

#include <memory>
#include <string>

#include "ktstats/channel.hpp"

namespace ktstats::cli {

// QEMU's pipe chardev: the host writes PATH.in and reads PATH.out. Both are
// opened read-write, so opening never blocks on a missing peer.
Result<std::unique_ptr<Channel>> open_pipe_channel(const std::string& path);

}  // namespace ktstats::cli
