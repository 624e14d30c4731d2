#include "cli/serve_launcher.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

constexpr const char* kDaemonName = "ktstats-serve";

std::array<std::filesystem::path, 2> candidates(const std::filesystem::path& own_directory) {
  return {own_directory / KTSTATS_LIBEXEC_FROM_BINDIR / kDaemonName, own_directory / kDaemonName};
}

}  // namespace

std::optional<std::string> find_serve_daemon() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return std::nullopt;
  for (const auto& path : candidates(self.parent_path())) {
    if (::access(path.c_str(), X_OK) == 0) return path.lexically_normal().string();
  }
  return std::nullopt;
}

int exec_serve_daemon(const Invocation& /*invocation*/, char** argv) {
  const auto daemon = find_serve_daemon();
  if (!daemon) {
    spdlog::error("serve: the daemon's executable, {}, is not installed beside ktstats (in {} or the "
                  "same directory); reinstall the ktstats package",
                  kDaemonName, KTSTATS_LIBEXEC_FROM_BINDIR);
    return EX_UNAVAILABLE;
  }
  ::execv(daemon->c_str(), argv);
  const int error = errno;
  spdlog::error("serve: cannot run {}: {}", escape_for_terminal(*daemon), std::strerror(error));
  return EX_UNAVAILABLE;
}

}  // namespace ktstats::cli
