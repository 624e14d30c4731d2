#include "ktstats/channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ktstats {

IoResult read_fd_into(int fd, std::span<char> buffer) {
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) return IoResult::done(static_cast<std::size_t>(n));
    if (n == 0) return IoResult::eof();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::would_block();
    return IoResult::failed(errno);
  }
}

IoResult write_fd_from(int fd, std::string_view bytes) {
  for (;;) {
    // send() first: on a socket whose peer left it fails with EPIPE instead
    // of raising SIGPIPE; anything else is no socket and takes write().
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) return IoResult::done(static_cast<std::size_t>(n));
    // Nothing taken is no progress, whatever the driver's reason.
    if (n == 0) return IoResult::would_block();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::would_block();
    return IoResult::failed(errno);
  }
}

}  // namespace ktstats
