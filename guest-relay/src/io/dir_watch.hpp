#pragma once

#include <functional>
#include <string>

#include "io/event_loop.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// Calls back whenever an entry is created, moved in or has its attributes
// changed in a directory: how the relay waits for a device node or socket
// to appear without polling. The directory itself must exist.
class DirWatch {
 public:
  DirWatch(EventLoop& loop, std::function<void()> on_change);
  ~DirWatch();
  DirWatch(const DirWatch&) = delete;
  DirWatch& operator=(const DirWatch&) = delete;

  Status watch(const std::string& directory);
  void stop();

 private:
  void on_readable();

  EventLoop& loop_;
  std::function<void()> on_change_;
  UniqueFd fd_;
};

}  // namespace ktstats::relay
