// bench_forwarder: the least a bridge that sleeps between reads can do,
// for reference: poll() on two Unix sockets, copy what is readable. No
// framing, no validation, no timeouts, no recovery.
//
//   bench_forwarder PORT_SOCKET SCHEDULER_SOCKET
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace {

int connect_to(const char* path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror(path);
    return -1;
  }
  return fd;
}

bool copy(int from, int to) {
  char buffer[65536];
  const ssize_t n = ::read(from, buffer, sizeof buffer);
  if (n <= 0) return false;
  for (ssize_t done = 0; done < n;) {
    const ssize_t written = ::write(to, buffer + done, static_cast<std::size_t>(n - done));
    if (written <= 0) return false;
    done += written;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 64;
  const int port = connect_to(argv[1]);
  const int scheduler = connect_to(argv[2]);
  if (port < 0 || scheduler < 0) return 69;
  for (;;) {
    pollfd fds[2] = {{port, POLLIN, 0}, {scheduler, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) return 74;
    if (fds[0].revents != 0 && !copy(port, scheduler)) return 0;
    if (fds[1].revents != 0 && !copy(scheduler, port)) return 0;
  }
}
