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
    kDefault,  // the port named kDefaultPortName, else kDefaultPortPath if unnamed
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
// has not appeared, and for the default while kDefaultPortPath carries
// another name (another program's port).
std::optional<std::string> resolve_port_path(const PortSpec& spec);

// Whether `path` is the default's fallback: kDefaultPortPath, taken while no
// port was named kDefaultPortName, and not itself carrying that name. A
// port's name reaches sysfs only after its device node, so the fallback is
// left when the named port appears (even while it was being opened) or when
// it turns out to carry another name.
bool is_fallback(const PortSpec& spec, std::string_view path);

// Whether the spec names its port by name (the default does), so that the
// relay listens for the kernel's announcements of virtio ports.
inline bool finds_port_by_name(const PortSpec& spec) {
  return spec.kind == PortSpec::Kind::kName || spec.kind == PortSpec::Kind::kDefault;
}

// Where a port appears: watched while waiting for it.
std::string port_parent_dir(const PortSpec& spec);

// For messages: "/dev/vport0p2", "port named org.ktstats.stats".
std::string describe_port(const PortSpec& spec);

}  // namespace ktstats::relay
