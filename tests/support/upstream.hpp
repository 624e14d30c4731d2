#pragma once

#include <unistd.h>

#include <optional>
#include <string>

namespace ktstats::test {

// A program from the upstream reference folder beside the project
// (../shared/upstream from the source root, read-only), or nullopt where
// that folder is absent, as on a user's machine: tests that need one skip.
inline std::optional<std::string> upstream_program(const std::string& relative) {
  const std::string path = std::string(KTSTATS_SOURCE_DIR) + "/../shared/upstream/" + relative;
  if (::access(path.c_str(), X_OK) != 0) return std::nullopt;
  return path;
}

}  // namespace ktstats::test
