#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::serve {

// The group the sockets get: the one named, else "ktstats" where it
// exists, else our own.
Result<gid_t> socket_group(const std::optional<std::string>& name);

// One VM's listening socket, DIR/NAME/stats.
struct VmSocket {
  UniqueFd listener;  // non-blocking, close-on-exec
  UniqueFd dir;       // DIR/NAME
  std::string path;   // for messages
  dev_t device = 0;   // the socket file made, removed only while still it
  ino_t inode = 0;
};

// The runtime directory (0750, the sockets' group) and the sockets in it
// (0660). Paths are made with *at() calls relative to directories opened
// with O_NOFOLLOW, so no symlink is ever followed where one is created; a
// path that is there already is used only when it is what we would have
// made (a directory of ours; a socket nobody listens on).
class RuntimeDir {
 public:
  static Result<RuntimeDir> open(const std::string& path, gid_t group);

  Result<VmSocket> listen_for(const std::string& vm_name) const;
  // Removes the socket (if still ours) and the VM's directory (if empty).
  void remove(const std::string& vm_name, const VmSocket& socket) const;
  // Removes the runtime directory itself, if this process made it and it is empty.
  void remove_if_made() const;

  const std::string& path() const { return path_; }

 private:
  RuntimeDir(UniqueFd fd, std::string path, gid_t group, bool made)
      : fd_(std::move(fd)), path_(std::move(path)), group_(group), made_(made) {}

  UniqueFd fd_;
  std::string path_;
  gid_t group_;
  bool made_;
};

}  // namespace ktstats::serve
