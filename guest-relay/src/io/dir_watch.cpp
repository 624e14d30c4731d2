#include "io/dir_watch.hpp"

#include <sys/epoll.h>
#include <sys/inotify.h>

#include <cerrno>

#include "io/io_buffer.hpp"

namespace ktstats::relay {

DirWatch::DirWatch(EventLoop& loop, std::function<void()> on_change)
    : loop_(loop), on_change_(std::move(on_change)) {}

DirWatch::~DirWatch() { stop(); }

Status DirWatch::watch(const std::string& directory) {
  stop();
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return Transport{"inotify_init1", errno};
  if (::inotify_add_watch(fd.get(), directory.c_str(), IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
    return Transport{"watch " + directory, errno};
  }
  const int raw = fd.get();
  if (auto added = loop_.add(raw, EPOLLIN, [this](std::uint32_t) { on_readable(); }); !added) {
    return added;
  }
  fd_ = std::move(fd);
  return Ok{};
}

void DirWatch::stop() {
  if (!fd_) return;
  loop_.remove(fd_.get());
  fd_.reset();
}

void DirWatch::on_readable() {
  auto& buffer = io_buffer();
  while (fd_ && ::read(fd_.get(), buffer.data(), buffer.size()) > 0) {
  }
  on_change_();
}

}  // namespace ktstats::relay
