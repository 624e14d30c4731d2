#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {

// A small epoll loop: one handler per descriptor, run until stop().
// Handlers may add and remove descriptors, their own included.
class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t events)>;

  static Result<std::unique_ptr<EventLoop>> create();

  Status add(int fd, std::uint32_t events, Handler handler);
  Status modify(int fd, std::uint32_t events);
  void remove(int fd);

  // Returns when stop() is called; errors only if epoll itself fails.
  Status run();
  void stop() { running_ = false; }

 private:
  explicit EventLoop(UniqueFd epoll) : epoll_(std::move(epoll)) {}

  UniqueFd epoll_;
  // shared_ptr: a handler that removes itself stays alive until it returns.
  std::map<int, std::shared_ptr<Handler>> handlers_;
  bool running_ = false;
};

}  // namespace ktstats::relay
