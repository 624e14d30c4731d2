#include "serve/serve_config.hpp"

#include <set>

#include <toml++/toml.h>

#include "ktstats/terminal_text.hpp"

namespace ktstats::serve {
namespace {

std::string where(const std::string& path, const toml::source_region& region) {
  return escape_for_terminal(path, 300) + ":" + std::to_string(region.begin.line);
}

}  // namespace

std::optional<ServeConfig> load_serve_config(const std::string& path, std::string* why) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    *why = where(path, error.source()) + ": " + escape_for_terminal(error.description(), 300);
    return std::nullopt;
  }
  ServeConfig config;
  std::vector<VmSpec>& vms = config.vms;
  for (const auto& [key, node] : root) {
    if (key.str() == "discover" || key.str() == "discover_libvirt") {
      const auto* directory = node.as_string();
      if (directory == nullptr || directory->get().empty()) {
        *why = where(path, node.source()) + ": '" + std::string(key.str()) +
               "' is not a directory's path (a string)";
        return std::nullopt;
      }
      (key.str() == "discover" ? config.discover : config.discover_libvirt) = directory->get();
      continue;
    }
    if (key.str() == "metrics_listen" || key.str() == "metrics_web_config") {
      const auto* text = node.as_string();
      if (text == nullptr || text->get().empty()) {
        *why = where(path, node.source()) + ": '" + std::string(key.str()) +
               (key.str() == "metrics_listen" ? "' is not an address (a string, HOST:PORT)"
                                              : "' is not a file's path (a string)");
        return std::nullopt;
      }
      (key.str() == "metrics_listen" ? config.metrics_listen : config.metrics_web_config) = text->get();
      continue;
    }
    if (key.str() != "vms") {
      *why = where(path, node.source()) + ": unknown key '" + escape_for_terminal(key.str(), 100) +
             "' (the file holds discover, discover_libvirt, metrics_listen, metrics_web_config and a [vms] "
             "table of NAME = \"URI\")";
      return std::nullopt;
    }
    const auto* table = node.as_table();
    if (table == nullptr) {
      *why = where(path, node.source()) + ": 'vms' is not a table ([vms], then NAME = \"URI\")";
      return std::nullopt;
    }
    for (const auto& [name, value] : *table) {
      const auto* uri = value.as_string();
      if (uri == nullptr) {
        *why = where(path, value.source()) + ": VM '" + escape_for_terminal(name.str(), 100) +
               "': the value is not a URI string";
        return std::nullopt;
      }
      std::string bad;
      auto spec = parse_vm_spec(std::string(name.str()) + "=" + uri->get(), &bad);
      if (!spec) {
        *why = where(path, value.source()) + ": " + bad;
        return std::nullopt;
      }
      vms.push_back(std::move(*spec));
    }
  }
  return config;
}

std::optional<std::vector<VmSpec>> merge_vms(const std::vector<VmSpec>& command_line,
                                             const std::vector<VmSpec>& file,
                                             const std::string& path, std::string* why) {
  std::vector<VmSpec> all = command_line;
  std::set<std::string> names;
  for (const auto& vm : command_line) names.insert(vm.name);
  for (const auto& vm : file) {
    if (!names.insert(vm.name).second) {
      *why = escape_for_terminal(path, 300) + ": VM '" + vm.name + "' is given on the command line too";
      return std::nullopt;
    }
    all.push_back(vm);
  }
  return all;
}

}  // namespace ktstats::serve
