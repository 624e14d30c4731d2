#include "io/port_spec.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {
namespace {

// The first line of a small sysfs file.
std::string read_first_line(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buffer[256];
  const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
  if (n <= 0) return {};
  std::string text(buffer, static_cast<std::size_t>(n));
  return text.substr(0, text.find('\n'));
}

std::optional<std::string> find_named_port(const std::string& sysfs_dir, std::string_view name) {
  DIR* dir = ::opendir(sysfs_dir.c_str());
  if (dir == nullptr) return std::nullopt;
  std::optional<std::string> found;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string port = entry->d_name;
    if (port == "." || port == "..") continue;
    if (read_first_line(sysfs_dir + "/" + port + "/name") == name) {
      found = "/dev/" + port;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

// The name the default path's port carries; empty while it has none.
std::string default_path_name(const std::string& sysfs_dir) {
  const auto slash = kDefaultPortPath.rfind('/');
  return read_first_line(sysfs_dir + "/" + std::string(kDefaultPortPath.substr(slash + 1)) + "/name");
}

// A port that carries a name is its owner's: the default path is taken only
// while it has none.
bool default_path_is_named(const std::string& sysfs_dir) { return !default_path_name(sysfs_dir).empty(); }

}  // namespace

std::optional<std::string> resolve_port_path(const PortSpec& spec) {
  switch (spec.kind) {
    case PortSpec::Kind::kPath: return spec.value;
    case PortSpec::Kind::kName: return find_named_port(spec.sysfs_dir, spec.value);
    case PortSpec::Kind::kDefault:
      if (auto named = find_named_port(spec.sysfs_dir, kDefaultPortName)) return named;
      if (default_path_is_named(spec.sysfs_dir)) return std::nullopt;
      return std::string(kDefaultPortPath);
    case PortSpec::Kind::kFd: break;
  }
  return std::nullopt;
}

bool is_fallback(const PortSpec& spec, std::string_view path) {
  return spec.kind == PortSpec::Kind::kDefault && path == kDefaultPortPath &&
         default_path_name(spec.sysfs_dir) != kDefaultPortName;
}

std::string port_parent_dir(const PortSpec& spec) {
  if (spec.kind == PortSpec::Kind::kPath) {
    const auto slash = spec.value.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : spec.value.substr(0, slash);
  }
  return "/dev";
}

std::string describe_port(const PortSpec& spec) {
  switch (spec.kind) {
    case PortSpec::Kind::kPath: return spec.value;
    case PortSpec::Kind::kName: return "the port named " + spec.value;
    case PortSpec::Kind::kDefault:
      return "the port named " + std::string(kDefaultPortName) + " or " +
             std::string(kDefaultPortPath);
    case PortSpec::Kind::kFd: return "descriptor " + std::to_string(spec.fd);
  }
  return {};
}

}  // namespace ktstats::relay
