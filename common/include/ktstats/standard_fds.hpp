#pragma once

#include "ktstats/result.hpp"

namespace ktstats {

// Opens /dev/null on whichever of descriptors 0, 1 and 2 is closed, so that
// no socket or signalfd opened later can take one of those numbers and have
// the program's output written into it. Call first thing in main(). Says
// which were closed: a program whose output was closed reports that rather
// than writing into /dev/null and claiming success.
struct ClosedStandardFds {
  bool input = false;
  bool output = false;
  bool error = false;
};
Result<ClosedStandardFds> reserve_standard_fds();

}  // namespace ktstats
