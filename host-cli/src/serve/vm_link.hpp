#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/endpoint.hpp"
#include "ktstats/channel.hpp"
#include "serve/vm_core.hpp"

namespace ktstats::serve {

// The connection to one VM's port: made when the VMM's socket is there
// (inotify on its directory says when it appears: no polling), made again
// after it ends, with a backoff from 100 ms to 5 s while attempts fail or
// connections end at once.
class VmLink {
 public:
  VmLink(std::string vm_name, cli::Endpoint endpoint);

  // What an attempt found, for the core.
  struct Attempt {
    bool connected = false;
    VmFault fault;  // when not connected
  };
  // Connects when an attempt is due; nullopt when none was.
  std::optional<Attempt> connect_if_due(Clock::time_point now, int inotify_fd);
  // inotify named this file in the watched directory.
  void on_directory_event(Clock::time_point now, std::string_view file_name);
  // The watch went (its directory was removed): retry with the backoff,
  // watching again once the directory is back.
  void on_watch_gone(Clock::time_point now);
  // The connection ended (or is being reset); the next attempt is scheduled.
  void ended(Clock::time_point now);

  Channel* channel() const { return channel_.get(); }
  int watch_descriptor() const { return watch_; }
  std::optional<Clock::time_point> next_deadline() const;
  const cli::Endpoint& endpoint() const { return endpoint_; }

 private:
  void watch_directory(int inotify_fd);

  std::string name_;
  cli::Endpoint endpoint_;
  std::vector<std::string> watched_names_;  // files in the directory that matter
  std::string directory_;
  int watch_ = -1;
  std::unique_ptr<Channel> channel_;
  std::optional<Clock::time_point> due_;  // nullopt: wait for inotify
  std::chrono::milliseconds backoff_;
  Clock::time_point connected_at_{};
  std::string last_fault_;  // logged when it changes
  std::uint64_t connections_ = 0;
};

}  // namespace ktstats::serve
