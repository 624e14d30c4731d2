#pragma once

#include <cstdint>
#include <limits>

namespace ktstats::relay {

// A scheduler connection, one per session. Link 0 is the implicit session's
// (a host that sends plain scx_stats lines or ktstats_sync lines); links
// 1..max_sessions are the slots of explicitly opened sessions. A slot is
// reused only after the I/O layer was told to close it.
using LinkId = std::uint32_t;
inline constexpr LinkId kImplicitLink = 0;

}  // namespace ktstats::relay
