#pragma once

#include <array>

namespace ktstats::relay {

// The one read buffer of the single-threaded relay: every read lands here
// and is consumed before the next, so the relay's memory does not grow with
// the number of descriptors it reads.
inline std::array<char, 64 * 1024>& io_buffer() {
  static std::array<char, 64 * 1024> buffer;
  return buffer;
}

}  // namespace ktstats::relay
