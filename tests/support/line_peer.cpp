#include "line_peer.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "ktstats/unix_socket.hpp"
#include "process.hpp"

namespace ktstats::test {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Listener::Listener(std::string path) : path_(std::move(path)) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
  fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ::unlink(path_.c_str());
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd_.get(), 16) != 0) {
    throw std::runtime_error("cannot listen on " + path_);
  }
}

UniqueFd Listener::accept(std::chrono::milliseconds timeout) {
  pollfd pfd{fd_.get(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return UniqueFd();
  return UniqueFd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
}

LinePeer LinePeer::connect(const std::string& path) {
  // A busy QEMU chardev (backlog full) accepts again once its client leaves.
  const auto deadline = Clock::now() + 10s;
  for (;;) {
    auto fd = connect_unix_socket(path);
    if (fd) return LinePeer(std::move(*fd));
    if (std::get<Transport>(fd.error()).error != EAGAIN || Clock::now() > deadline) {
      throw std::runtime_error("cannot connect to " + path + ": " + describe(fd.error()));
    }
    ::poll(nullptr, 0, 20);
  }
}

bool LinePeer::write(std::string_view bytes) {
  const auto deadline = Clock::now() + 10s;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd_.get(), bytes.data(), bytes.size());  // a pty
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd pfd{fd_.get(), POLLOUT, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) return false;
  }
  return true;
}

std::optional<std::string> LinePeer::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto frame = framer_.next()) {
      if (auto* line = std::get_if<std::string>(&*frame)) return std::move(*line);
      return std::string("<line too long>");
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) return std::nullopt;
    char buffer[65536];
    ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::read(fd_.get(), buffer, sizeof buffer);  // a pty
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return std::nullopt;
    framer_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

bool LinePeer::closed_within(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n > 0) return false;
    if (errno != EAGAIN && errno != EINTR) return true;
  }
}

}  // namespace ktstats::test
