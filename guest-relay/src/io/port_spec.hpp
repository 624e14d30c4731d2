#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ktstats::relay {

inline constexpr std::string_view kDefaultPortName = "org.ktstats.stats";
inline constexpr std::string_view kDefaultPortPath = "/dev/vport0p2";
inline constexpr std::string_view kVirtioPortsDir = "/sys/class/virtio-ports";

// Which port the relay serves, as the user named it.
struct PortSpec {
  enum class Kind {
    kDefault,  // the port named kDefaultPortName, else kDefaultPortPath
    kPath,     // a device, tty or Unix socket path
    kName,     // a virtio port name, looked up in sysfs
    kFd,       // an inherited descriptor
  };
  Kind kind = Kind::kDefault;
  std::string value;  // the path or the name
  int fd = -1;
  std::string sysfs_dir = std::string(kVirtioPortsDir);
};

// The device path the spec names right now; nullopt while a named port
// has not appeared.
std::optional<std::string> resolve_port_path(const PortSpec& spec);

// Where a port appears: watched while waiting for it.
std::string port_parent_dir(const PortSpec& spec);

// For messages: "/dev/vport0p2", "port named org.ktstats.stats".
std::string describe_port(const PortSpec& spec);

}  // namespace ktstats::relay
