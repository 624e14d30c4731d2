#pragma once

#include <cstddef>

namespace ktstats {

// Longest line either side accepts, excluding the newline. scx_stats
// requests are tiny and responses rarely pass a few KiB; the cap protects
// both sides from a peer that never sends a newline.
inline constexpr std::size_t kMaxLineBytes = 256 * 1024;

// Deepest JSON nesting accepted on the wire. Real payloads nest a handful
// of levels (struct in dict in struct).
inline constexpr std::size_t kMaxJsonDepth = 64;

}  // namespace ktstats
