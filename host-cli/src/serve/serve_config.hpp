#pragma once

#include <optional>
#include <string>
#include <vector>

#include "serve/serve_options.hpp"

namespace ktstats::serve {

// A configuration file (TOML):
//
//   discover = "/run/vmm"                                      # optional
//   discover_libvirt = "/var/lib/libvirt/qemu/channel/target"  # optional
//   metrics_listen = "127.0.0.1:9477"                          # optional
//   metrics_web_config = "/etc/ktstats/web.yml"                # optional
//   [vms]
//   vm1 = "unix:/run/vm1-stats.sock"
struct ServeConfig {
  std::vector<VmSpec> vms;
  std::optional<std::string> discover;
  std::optional<std::string> discover_libvirt;
  std::optional<std::string> metrics_listen;
  std::optional<std::string> metrics_web_config;
};

// nullopt and why (FILE:LINE: ...) when the file cannot be read or holds
// anything else: an unknown key, a value that is not a string, a bad
// name or URI, a name twice.
std::optional<ServeConfig> load_serve_config(const std::string& path, std::string* why);

// The command line's VMs and the file's together; nullopt and why when a
// name is in both.
std::optional<std::vector<VmSpec>> merge_vms(const std::vector<VmSpec>& command_line,
                                             const std::vector<VmSpec>& file,
                                             const std::string& path, std::string* why);

}  // namespace ktstats::serve
