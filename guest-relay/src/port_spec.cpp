#include "port_spec.hpp"

#include <filesystem>
#include <fstream>

namespace ktstats::relay {
namespace {

std::optional<std::string> find_named_port(const std::string& sysfs_dir, std::string_view name) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(sysfs_dir, ec)) {
    std::ifstream file(entry.path() / "name");
    std::string port_name;
    if (std::getline(file, port_name) && port_name == name) {
      return "/dev/" + entry.path().filename().string();
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> resolve_port_path(const PortSpec& spec) {
  switch (spec.kind) {
    case PortSpec::Kind::kPath: return spec.value;
    case PortSpec::Kind::kName: return find_named_port(spec.sysfs_dir, spec.value);
    case PortSpec::Kind::kDefault:
      if (auto named = find_named_port(spec.sysfs_dir, kDefaultPortName)) return named;
      return std::string(kDefaultPortPath);
    case PortSpec::Kind::kFd: break;
  }
  return std::nullopt;
}

std::string port_parent_dir(const PortSpec& spec) {
  if (spec.kind == PortSpec::Kind::kPath) {
    const auto parent = std::filesystem::path(spec.value).parent_path();
    return parent.empty() ? "." : parent.string();
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
