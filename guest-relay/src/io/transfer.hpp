#pragma once

#include <cstddef>

namespace ktstats::relay {

// What one read or write on the port or a scheduler link came to, its
// end-of-stream policy applied.
struct Transfer {
  enum class Kind {
    kMoved,    // `bytes` moved
    kNothing,  // nothing now: wait for readiness
    kEnded,    // the other side is gone (the owner has closed what it must)
  } kind;
  std::size_t bytes = 0;

  static Transfer moved(std::size_t n) { return {Kind::kMoved, n}; }
  static Transfer nothing() { return {Kind::kNothing, 0}; }
  static Transfer ended() { return {Kind::kEnded, 0}; }
};

}  // namespace ktstats::relay
