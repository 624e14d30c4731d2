#pragma once

#include <optional>
#include <string>
#include <vector>

#include "serve/serve_options.hpp"

namespace ktstats::serve {

// The VMs of a configuration file (TOML):
//
//   [vms]
//   vm1 = "unix:/run/vm1-stats.sock"
//
// nullopt and why (FILE:LINE: ...) when the file cannot be read or holds
// anything else: an unknown key, a value that is not a URI string, a bad
// name, a name twice.
std::optional<std::vector<VmSpec>> load_serve_config(const std::string& path, std::string* why);

// The command line's VMs and the file's together; nullopt and why when a
// name is in both.
std::optional<std::vector<VmSpec>> merge_vms(const std::vector<VmSpec>& command_line,
                                             const std::vector<VmSpec>& file,
                                             const std::string& path, std::string* why);

}  // namespace ktstats::serve
