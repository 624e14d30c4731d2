#pragma once

#include "ktstats/result.hpp"
#include "logger.hpp"

namespace ktstats::relay {

enum class LogTarget { kStderr, kKmsg };

// The log: stderr, or /dev/kmsg, where an initramfs without syslog still
// keeps the relay's messages (read them with dmesg).
Status setup_logging(LogTarget target, logger::Level level);

}  // namespace ktstats::relay
