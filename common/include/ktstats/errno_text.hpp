#pragma once

#include <string>

namespace ktstats {

// "EINVAL (Invalid argument)"; "errno 4242" for a number libc does not know.
std::string errno_text(int error);

}  // namespace ktstats
