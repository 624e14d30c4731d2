#include "io/poller.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

namespace ktstats::relay {
namespace {

bool same_open(const Poller::Watch& a, const Poller::Watch& b) {
  return a.fd == b.fd && a.serial == b.serial;
}

}  // namespace

std::uint64_t new_open_serial() {
  static std::uint64_t last = 0;
  return ++last;
}

Result<Poller> Poller::create() {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return Transport{"epoll_create1", errno};
  return Poller(std::move(epoll));
}

Status Poller::control(int op, const Watch& watch) {
  epoll_event event{};
  event.events = watch.events;
  event.data.u64 = watch.tag;
  if (::epoll_ctl(epoll_.get(), op, watch.fd, &event) == 0) return Ok{};
  // A closed descriptor left the set by itself.
  if (op == EPOLL_CTL_DEL) return Ok{};
  return Transport{op == EPOLL_CTL_ADD ? "epoll_ctl(ADD)" : "epoll_ctl(MOD)", errno};
}

Status Poller::watch_exactly(std::vector<Watch>& watches) {
  // The usual case, once per pump: nothing changed since the last call.
  if (watches == watched_) return Ok{};
  const auto by_tag = [](const Watch& a, const Watch& b) { return a.tag < b.tag; };
  std::sort(watches.begin(), watches.end(), by_tag);
  const auto find = [&](const std::vector<Watch>& in, Tag tag) -> const Watch* {
    const auto it = std::lower_bound(in.begin(), in.end(), Watch{tag, -1, 0, 0}, by_tag);
    return it != in.end() && it->tag == tag ? &*it : nullptr;
  };
  // Removals first: a number closed by one source may have been reopened
  // by another in the same pass.
  for (const Watch& old : watched_) {
    const Watch* now = find(watches, old.tag);
    if (now == nullptr || !same_open(*now, old)) (void)control(EPOLL_CTL_DEL, old);
  }
  Status status = Ok{};
  for (const Watch& now : watches) {
    const Watch* old = find(watched_, now.tag);
    if (old != nullptr && same_open(*old, now)) {
      if (old->events != now.events && status) status = control(EPOLL_CTL_MOD, now);
    } else if (status) {
      status = control(EPOLL_CTL_ADD, now);
    }
  }
  watched_.assign(watches.begin(), watches.end());
  return status;
}

Result<std::span<const Poller::Ready>> Poller::wait(int timeout_ms) {
  std::array<epoll_event, 32> events;
  int count;
  do {
    count = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
  } while (count < 0 && errno == EINTR);
  if (count < 0) return Transport{"epoll_wait", errno};
  ready_.clear();
  for (int i = 0; i < count; ++i) ready_.push_back({events[i].data.u64, events[i].events});
  return std::span<const Ready>(ready_);
}

}  // namespace ktstats::relay
