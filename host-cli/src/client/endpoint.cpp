#include "client/endpoint.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include "ktstats/terminal_text.hpp"
#include "ktstats/tty.hpp"
#include "ktstats/unix_socket.hpp"
#include "client/pipe_channel.hpp"

namespace ktstats::cli {
namespace {

constexpr std::string_view kVmScheme = "vm:";

// What the user typed, quoted back without its control characters.
std::string shown(std::string_view uri) { return escape_for_terminal(uri, 200); }

const char* file_type_name(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a FIFO or device";
}

// Refuses, before it is opened, a path whose type the scheme does not
// expect: writing the sync line into a regular file would overwrite it. A
// path that cannot be examined is left for open() to report.
Status expect_file_type(const std::string& path, bool (*is_expected)(mode_t), const char* expected,
                        const Endpoint& endpoint) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0 || is_expected(status.st_mode)) return Ok{};
  return Transport{escape_for_terminal(path, 200) + " is " + file_type_name(status.st_mode) +
                   ", not " + expected + "; nothing was written to it. " +
                   std::string(endpoint.uri.substr(0, endpoint.uri.size() - endpoint.path.size())) +
                   "PATH needs " +
                   (endpoint.kind == Endpoint::Kind::kPipe
                        ? "the FIFOs PATH.in and PATH.out, as QEMU's -chardev pipe uses them"
                        : "a pty or serial device")};
}

bool is_fifo(mode_t mode) { return S_ISFIFO(mode); }
bool is_character_device(mode_t mode) { return S_ISCHR(mode); }

// vm:NAME: the socket `ktstats serve` gives the VM NAME, which speaks plain
// scx_stats (serve holds the relay's sessions).
std::optional<Endpoint> parse_vm_endpoint(std::string_view uri, std::string* why) {
  const auto name = uri.substr(kVmScheme.size());
  if (!is_valid_vm_name(name)) {
    if (why) *why = "'" + shown(uri) + "' does not name a VM after 'vm:' (e.g. vm:vm1)";
    return std::nullopt;
  }
  const char* runtime = std::getenv(kServeRuntimeDirVariable);
  const std::string dir = runtime != nullptr && *runtime != '\0' ? runtime : kServeRuntimeDir;
  return Endpoint{Endpoint::Kind::kScx, dir + "/" + std::string(name) + "/stats", std::string(uri)};
}

}  // namespace

bool is_valid_vm_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxVmNameBytes || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<Endpoint> parse_endpoint(std::string_view uri, std::string* why) {
  if (uri.substr(0, kVmScheme.size()) == kVmScheme) return parse_vm_endpoint(uri, why);
  struct Scheme {
    std::string_view prefix;
    Endpoint::Kind kind;
  };
  static constexpr Scheme kSchemes[] = {{"unix:", Endpoint::Kind::kUnix},
                                        {"pty:", Endpoint::Kind::kTty},
                                        {"tty:", Endpoint::Kind::kTty},
                                        {"pipe:", Endpoint::Kind::kPipe},
                                        {"scx:", Endpoint::Kind::kScx}};
  for (const auto& scheme : kSchemes) {
    if (uri.substr(0, scheme.prefix.size()) != scheme.prefix) continue;
    const auto path = uri.substr(scheme.prefix.size());
    if (path.empty()) {
      if (why) *why = "'" + shown(uri) + "' has no path after '" + std::string(scheme.prefix) + "'";
      return std::nullopt;
    }
    return Endpoint{scheme.kind, std::string(path), std::string(uri)};
  }
  if (why) {
    *why = "'" + shown(uri) +
           "' is not a connection URI (unix:PATH, pty:PATH, tty:PATH, pipe:PATH or scx:PATH)";
    if (!uri.empty() && uri.front() == '/') *why += "; did you mean unix:" + shown(uri) + "?";
  }
  return std::nullopt;
}

Result<std::unique_ptr<Channel>> open_endpoint(const Endpoint& endpoint) {
  switch (endpoint.kind) {
    case Endpoint::Kind::kUnix:
    case Endpoint::Kind::kScx:
      return open_unix_channel(endpoint.path);
    case Endpoint::Kind::kTty:
      if (auto checked = expect_file_type(endpoint.path, is_character_device,
                                          "a character device", endpoint);
          !checked) {
        return std::move(checked).error();
      }
      return open_tty_channel(endpoint.path);
    case Endpoint::Kind::kPipe:
      for (const char* end : {".in", ".out"}) {
        if (auto checked = expect_file_type(endpoint.path + end, is_fifo, "a FIFO", endpoint);
            !checked) {
          return std::move(checked).error();
        }
      }
      return open_pipe_channel(endpoint.path);
  }
  return Transport{"unknown endpoint"};
}

}  // namespace ktstats::cli
