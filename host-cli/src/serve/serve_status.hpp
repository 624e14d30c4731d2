#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktstats/result.hpp"

namespace ktstats::serve {

// Where a VM's connection stands.
enum class LinkState {
  kConnected,
  kWaitingForSocket,  // the VMM's socket is not there; inotify says when it appears
  kBackingOff,        // an attempt failed (refused, no directory): the next is at retry_in
};

// What the relay speaks, as VmCore found it (WireMode, by name on the wire).
enum class RelayMode { kUnknown, kSessions, kOneAtATime };

struct LastError {
  int errno_value = 0;
  std::string message;
  // When this error was first met in a row of the same one.
  std::chrono::system_clock::time_point since{};
};

// One VM as `ktstats vms` shows it.
struct VmStatus {
  std::string name;
  std::string uri;     // of the VM's port
  std::string socket;  // serve's scx_stats socket for it
  bool discovered = false;
  LinkState state = LinkState::kWaitingForSocket;
  std::optional<std::chrono::milliseconds> retry_in;  // when backing off
  RelayMode mode = RelayMode::kUnknown;
  // From the relay's open echo on this connection; empty until a client's
  // first request asked (and always without sessions).
  std::string relay;
  std::string relay_version;
  std::uint64_t clients = 0;
  std::uint64_t sessions = 0;
  std::uint64_t requests = 0;
  std::optional<LastError> last_error;
};

struct ServeStatus {
  std::string version;  // of the daemon
  std::int64_t pid = 0;
  std::vector<VmStatus> vms;
};

// The control socket's answer: one JSON line (no newline here); the format
// is in docs/SERVE.md.
std::string encode_status(const ServeStatus& status);
// The answer read back, checked whole: a Protocol error names what is wrong.
Result<ServeStatus> decode_status(std::string_view line);

std::string_view state_name(LinkState state);
std::string_view mode_name(RelayMode mode);

}  // namespace ktstats::serve
