#include "io/event_loop.hpp"

#include <sys/epoll.h>

#include <cerrno>

namespace ktstats::relay {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return Transport{"epoll_create1", errno};
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll)));
}

Status EventLoop::add(int fd, std::uint32_t events, Handler handler) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return Transport{"epoll_ctl(ADD)", errno};
  }
  handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  return Ok{};
}

Status EventLoop::modify(int fd, std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    return Transport{"epoll_ctl(MOD)", errno};
  }
  return Ok{};
}

void EventLoop::remove(int fd) {
  if (handlers_.erase(fd) != 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Status EventLoop::run() {
  running_ = true;
  constexpr int kBatch = 16;
  epoll_event events[kBatch];
  while (running_) {
    const int count = ::epoll_wait(epoll_.get(), events, kBatch, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      return Transport{"epoll_wait", errno};
    }
    for (int i = 0; i < count && running_; ++i) {
      // Looked up per event: an earlier handler in this batch may have
      // removed this descriptor (and the number may have been reused).
      auto it = handlers_.find(events[i].data.fd);
      if (it == handlers_.end()) continue;
      auto handler = it->second;
      (*handler)(events[i].events);
    }
  }
  return Ok{};
}

}  // namespace ktstats::relay
