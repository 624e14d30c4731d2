#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::serve {

inline constexpr std::string_view kLibvirtChannelName = "org.ktstats.stats";

// Where VMM sockets are found without naming each VM.
struct DiscoverySource {
  enum class Kind {
    kDirectory,  // DIR/FILE, a VMM socket: the VM is FILE without a ".sock" ending
    kLibvirt,    // ROOT/domain-ID-NAME/org.ktstats.stats (or ROOT/ID-NAME/...): the VM is NAME
  };
  Kind kind;
  std::string path;
};

// A VM found: its name and its VMM socket.
struct DiscoveredVm {
  std::string name;
  std::string socket_path;
  bool operator==(const DiscoveredVm&) const = default;
};

// What changed since the last look.
struct DiscoveryChanges {
  std::vector<DiscoveredVm> gone;
  std::vector<DiscoveredVm> appeared;
};

// The VM a file in a discovery directory stands for, or nullopt (with why,
// when the name is one we do not serve).
std::optional<std::string> vm_name_of_socket_file(std::string_view file_name, std::string* why);
// The domain a libvirt channel directory stands for: "domain-ID-NAME" or
// "ID-NAME"; nullopt for any other name.
std::optional<std::string> vm_name_of_libvirt_directory(std::string_view directory_name,
                                                        std::string* why);

// Watches the sources with inotify (its own descriptor, for the event
// loop) and says which VM sockets appeared and went. Each inotify event
// makes it look at the sources again and compare with what it knew, so
// the order and coalescing of events cannot mislead it.
class Discovery {
 public:
  // Fails when a source is not a directory we can watch.
  static Result<Discovery> create(std::vector<DiscoverySource> sources);

  int fd() const { return inotify_.get(); }
  // Drains the inotify descriptor, then looks again.
  DiscoveryChanges on_readable();
  // Looks at the sources now (at start: everything there appears).
  DiscoveryChanges rescan();

 private:
  Discovery(UniqueFd inotify, std::vector<DiscoverySource> sources)
      : inotify_(std::move(inotify)), sources_(std::move(sources)) {}

  void look(const DiscoverySource& source, std::map<std::string, DiscoveredVm>& found);
  void look_libvirt(const DiscoverySource& source, std::map<std::string, DiscoveredVm>& found);
  // Adds (or finds) the watch of a directory; false when it cannot be watched.
  bool watch(const std::string& directory);
  void offer(std::map<std::string, DiscoveredVm>& found, DiscoveredVm vm);
  void note_skipped(const std::string& path, const std::string& why);

  UniqueFd inotify_;
  std::vector<DiscoverySource> sources_;
  std::map<std::string, DiscoveredVm> known_;  // by VM name
  std::map<std::string, std::string> skipped_;  // path -> why, logged once
};

}  // namespace ktstats::serve
