#include "serve/control_socket.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "ktstats/errno_text.hpp"

namespace ktstats::serve {
namespace {

// Readers with output still unwritten: past it the oldest is closed, so
// status readers that never read cannot hold the daemon's memory.
constexpr std::size_t kMaxReaders = 16;
// Connections taken per wake-up, so a crowd cannot starve the VMs.
constexpr int kAcceptsPerPump = 16;

}  // namespace

std::string control_socket_path(std::string_view runtime_dir) {
  return std::string(runtime_dir) + "/" + std::string(kControlDirName) + "/stats";
}

Result<ControlSocket> ControlSocket::open(const RuntimeDir& runtime, int epoll,
                                          std::uint64_t client_tag) {
  auto socket = runtime.listen_for(std::string(kControlDirName));
  // The error copied, not moved: moved, GCC 12 at -O3 warns (wrongly)
  // that part of it may be used uninitialized.
  if (!socket) return socket.error();
  return ControlSocket(std::move(*socket), epoll, client_tag);
}

bool ControlSocket::write_some(Reader& reader) {
  while (reader.written < reader.output.size()) {
    const ssize_t put = ::send(reader.fd.get(), reader.output.data() + reader.written,
                               reader.output.size() - reader.written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put > 0) {
      reader.written += static_cast<std::size_t>(put);
      continue;
    }
    if (put < 0 && errno == EINTR) continue;
    return !(put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }
  return true;
}

void ControlSocket::accept_all(const std::string& answer) {
  // More waiting than taken: the listener stays readable for the next wake-up.
  for (int accepted = 0; accepted < kAcceptsPerPump; ++accepted) {
    UniqueFd fd(::accept4(socket_.listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        spdlog::warn("control socket: accept: {}", errno_text(errno));
      }
      return;
    }
    Reader reader{next_id_++, std::move(fd), answer, 0};
    if (write_some(reader)) continue;  // done: closed here
    if (readers_.size() >= kMaxReaders) drop(readers_.begin());
    epoll_event event{};
    event.events = EPOLLOUT;
    event.data.u64 = client_tag_ | reader.id;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, reader.fd.get(), &event) != 0) continue;
    readers_.push_back(std::move(reader));
  }
}

void ControlSocket::on_writable(std::uint64_t client) {
  const auto found = std::find_if(readers_.begin(), readers_.end(),
                                  [client](const Reader& reader) { return reader.id == client; });
  if (found != readers_.end() && write_some(*found)) drop(found);
}

void ControlSocket::drop(std::deque<Reader>::iterator reader) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, reader->fd.get(), nullptr);
  readers_.erase(reader);
}

void ControlSocket::remove(const RuntimeDir& runtime) {
  while (!readers_.empty()) drop(readers_.begin());
  runtime.remove(std::string(kControlDirName), socket_);
}

}  // namespace ktstats::serve
