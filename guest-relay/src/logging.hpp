#pragma once

#include <string>

#include <spdlog/common.h>

#include "ktstats/result.hpp"

namespace ktstats::relay {

enum class LogTarget { kStderr, kKmsg };

// The default logger: stderr, or /dev/kmsg, where an initramfs without
// syslog still keeps the relay's messages (read them with dmesg).
Status setup_logging(LogTarget target, spdlog::level::level_enum level);

}  // namespace ktstats::relay
