#include "serve/discovery.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>

#include "ktstats/terminal_text.hpp"
#include "serve/serve_options.hpp"

namespace ktstats::serve {
namespace {

constexpr std::string_view kSocketEnding = ".sock";
// Entries of one directory looked at, at most: a directory flooded with
// files cannot make one look unbounded.
constexpr std::size_t kMaxEntries = 4096;

// A directory's entries, sorted (so which of two same-named VMs wins does
// not depend on readdir's order); nullopt when it cannot be read.
std::optional<std::vector<std::string>> entries_of(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
    if (names.size() >= kMaxEntries) break;
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool is_socket(const std::string& path) {
  struct stat status {};
  return ::fstatat(AT_FDCWD, path.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISSOCK(status.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat status {};
  return ::fstatat(AT_FDCWD, path.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(status.st_mode);
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<std::string> vm_name_of_socket_file(std::string_view file_name, std::string* why) {
  std::string_view name = file_name;
  if (name.size() > kSocketEnding.size() && name.ends_with(kSocketEnding)) {
    name.remove_suffix(kSocketEnding.size());
  }
  if (!is_valid_vm_name(name)) {
    *why = "not a VM name (1 to 64 of A-Z a-z 0-9 _ . -)";
    return std::nullopt;
  }
  return std::string(name);
}

std::optional<std::string> vm_name_of_libvirt_directory(std::string_view directory_name,
                                                        std::string* why) {
  std::string_view rest = directory_name;
  if (rest.starts_with("domain-")) rest.remove_prefix(7);
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos || !all_digits(rest.substr(0, dash))) {
    *why = "not a domain's channel directory (domain-ID-NAME or ID-NAME)";
    return std::nullopt;
  }
  const auto name = rest.substr(dash + 1);
  if (!is_valid_vm_name(name)) {
    *why = "the domain's name is not one serve makes a socket for (1 to 64 of A-Z a-z 0-9 _ . -)";
    return std::nullopt;
  }
  return std::string(name);
}

Result<Discovery> Discovery::create(std::vector<DiscoverySource> sources) {
  UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) return Transport{"inotify_init1", errno};
  Discovery discovery(std::move(inotify), std::move(sources));
  for (const auto& source : discovery.sources_) {
    if (!is_directory(source.path)) {
      return Transport{"discovery: " + escape_for_terminal(source.path, 300) + " is not a directory",
                       ENOTDIR};
    }
    if (!discovery.watch(source.path)) {
      return Transport{"discovery: watching " + escape_for_terminal(source.path, 300), errno};
    }
  }
  return discovery;
}

bool Discovery::watch(const std::string& directory) {
  return ::inotify_add_watch(inotify_.get(), directory.c_str(),
                             IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                                 IN_ONLYDIR | IN_DONT_FOLLOW) >= 0;
}

DiscoveryChanges Discovery::on_readable() {
  alignas(inotify_event) char buffer[8192];
  while (::read(inotify_.get(), buffer, sizeof buffer) > 0) {
  }
  return rescan();
}

DiscoveryChanges Discovery::rescan() {
  std::map<std::string, DiscoveredVm> found;
  for (const auto& source : sources_) look(source, found);
  DiscoveryChanges changes;
  for (const auto& [name, vm] : known_) {
    auto now = found.find(name);
    if (now == found.end() || now->second.socket_path != vm.socket_path) changes.gone.push_back(vm);
  }
  for (const auto& [name, vm] : found) {
    auto before = known_.find(name);
    if (before == known_.end() || before->second.socket_path != vm.socket_path) {
      changes.appeared.push_back(vm);
    }
  }
  known_ = std::move(found);
  return changes;
}

void Discovery::look(const DiscoverySource& source, std::map<std::string, DiscoveredVm>& found) {
  if (source.kind == DiscoverySource::Kind::kLibvirt) {
    look_libvirt(source, found);
    return;
  }
  const auto names = entries_of(source.path);
  if (!names) return;
  for (const auto& file : *names) {
    const std::string path = source.path + "/" + file;
    if (!is_socket(path)) continue;
    std::string why;
    auto name = vm_name_of_socket_file(file, &why);
    if (!name) {
      note_skipped(path, why);
      continue;
    }
    offer(found, {std::move(*name), path});
  }
}

// Each domain's directory is watched too: libvirt makes the directory
// first and the channel's socket in it when QEMU starts.
void Discovery::look_libvirt(const DiscoverySource& source,
                             std::map<std::string, DiscoveredVm>& found) {
  const auto names = entries_of(source.path);
  if (!names) return;
  for (const auto& directory : *names) {
    const std::string path = source.path + "/" + directory;
    if (!is_directory(path)) continue;
    std::string why;
    auto name = vm_name_of_libvirt_directory(directory, &why);
    if (!name) {
      note_skipped(path, why);
      continue;
    }
    watch(path);
    const std::string socket = path + "/" + std::string(kLibvirtChannelName);
    if (is_socket(socket)) offer(found, {std::move(*name), socket});
  }
}

void Discovery::offer(std::map<std::string, DiscoveredVm>& found, DiscoveredVm vm) {
  auto [at, added] = found.try_emplace(vm.name, vm);
  if (!added && at->second.socket_path != vm.socket_path) {
    note_skipped(vm.socket_path, "VM '" + vm.name + "' is " + at->second.socket_path + " already");
  }
}

void Discovery::note_skipped(const std::string& path, const std::string& why) {
  auto [at, added] = skipped_.try_emplace(path, why);
  if (!added && at->second == why) return;
  at->second = why;
  if (skipped_.size() > kMaxEntries) skipped_.clear();
  spdlog::warn("discovery: {} not served: {}", escape_for_terminal(path, 300),
               escape_for_terminal(why, 300));
}

}  // namespace ktstats::serve
