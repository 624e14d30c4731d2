#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/endpoint.hpp"

namespace ktstats::serve {

inline constexpr std::string_view kDefaultRuntimeDir = cli::kServeRuntimeDir;
inline constexpr std::string_view kDefaultGroup = "ktstats";
// Where Debian 12's libvirt (9.0) makes a domain's channel sockets; newer
// libvirt uses /run/libvirt/qemu/channel.
inline constexpr std::string_view kDefaultLibvirtChannelRoot = "/var/lib/libvirt/qemu/channel/target";

// One VM to serve: its name (the directory of its socket) and where its
// port is, as --connect takes it.
struct VmSpec {
  std::string name;
  cli::Endpoint endpoint;
};

// What `ktstats serve` was asked to do, parsed and checked.
struct ServeOptions {
  std::vector<VmSpec> vms;            // from the command line
  std::optional<std::string> config;  // a file of more VMs, read again at SIGHUP
  // Directories whose VMM sockets are served without naming them: plain
  // (DIR/NAME[.sock]) and libvirt's channel directories.
  std::optional<std::string> discover;
  std::optional<std::string> discover_libvirt;
  std::string runtime_dir{kDefaultRuntimeDir};
  // Group of the sockets; absent: "ktstats" if it exists, else ours.
  std::optional<std::string> group;
  std::size_t max_clients = 256;
  std::chrono::milliseconds request_timeout{15'000};
  // The /metrics endpoint (docs/SERVE.md): off unless an address is given.
  std::optional<std::string> metrics_listen;      // HOST:PORT, [V6]:PORT
  std::optional<std::string> metrics_web_config;  // TLS and basic auth
  std::chrono::milliseconds metrics_timeout{5'000};  // a VM's fetch at most this long
  int verbosity = 0;
  bool quiet = false;
};

using cli::is_valid_vm_name;
using cli::kMaxVmNameBytes;

// NAME=URI, or nullopt and why.
std::optional<VmSpec> parse_vm_spec(std::string_view text, std::string* why);

// Whether text is an address to listen on: HOST:PORT or [IPV6]:PORT, PORT
// 0 to 65535 (0: any free port); false and why otherwise.
bool is_listen_address(std::string_view text, std::string* why);

}  // namespace ktstats::serve
