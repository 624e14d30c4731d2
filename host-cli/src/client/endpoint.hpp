#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ktstats/channel.hpp"
#include "ktstats/result.hpp"

namespace ktstats::cli {

inline constexpr std::string_view kDefaultConnect = "scx:/var/run/scx/root/stats";
// Where vm:NAME looks for `ktstats serve`'s socket NAME/stats: the variable
// when set (serve run with another --runtime-dir), else serve's default.
inline constexpr const char* kServeRuntimeDirVariable = "KTSTATS_RUNTIME_DIR";
inline constexpr const char* kServeRuntimeDir = "/run/ktstats";

// Where the command connects, from --connect or KTSTATS_CONNECT.
struct Endpoint {
  enum class Kind {
    kUnix,  // unix:PATH  a VMM's chardev socket, a relay behind it
    kTty,   // pty:PATH or tty:PATH  a pty or serial device, a relay behind it
    kPipe,  // pipe:PATH  QEMU's pipe chardev, PATH.in and PATH.out
    kScx,   // scx:PATH  a scheduler's own socket, no relay; vm:NAME  ktstats serve's socket
  };
  Kind kind;
  std::string path;
  std::string uri;  // as the user wrote it

  // A relay on the far side, which speaks the sync line.
  bool through_relay() const { return kind != Kind::kScx; }
};

// A VM name, as `ktstats serve` makes a directory of it and vm:NAME finds
// it: 1 to 64 of [A-Za-z0-9_.-], not "." or "..".
inline constexpr std::size_t kMaxVmNameBytes = 64;
bool is_valid_vm_name(std::string_view name);

// nullopt and the reason when the text is not a connection URI.
std::optional<Endpoint> parse_endpoint(std::string_view uri, std::string* why = nullptr);

Result<std::unique_ptr<Channel>> open_endpoint(const Endpoint& endpoint);

}  // namespace ktstats::cli
