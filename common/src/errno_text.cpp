#include "ktstats/errno_text.hpp"

#include <cstring>

namespace ktstats {

std::string errno_text(int error) {
  const char* name = ::strerrorname_np(error);
  if (name == nullptr) return "errno " + std::to_string(error);
  return std::string(name) + " (" + ::strerrordesc_np(error) + ")";
}

}  // namespace ktstats
