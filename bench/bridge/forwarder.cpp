// bench_forwarder: the least a bridge that sleeps between reads can do,
// for reference: poll() on two Unix sockets, copy what is readable. No
// framing, no validation, no timeouts, no recovery.
//
//   bench_forwarder PORT_SOCKET SCHEDULER_SOCKET
//   bench_forwarder --listen SOCKET UPSTREAM_SOCKET
//
// With --listen it makes SOCKET, prints "ready", takes one connection on it
// and forwards it to UPSTREAM_SOCKET: a process in serve's place.
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

// One connection taken on a socket made at `path`.
int accept_one(const char* path) {
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 1) != 0) {
    std::perror(path);
    return -1;
  }
  std::puts("ready");
  std::fflush(stdout);
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
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
  const bool listen = argc == 4 && std::strcmp(argv[1], "--listen") == 0;
  if (argc != 3 && !listen) return 64;
  char** paths = argv + (listen ? 2 : 1);
  const int port = listen ? accept_one(paths[0]) : connect_to(paths[0]);
  const int scheduler = connect_to(paths[1]);
  if (port < 0 || scheduler < 0) return 69;
  for (;;) {
    pollfd fds[2] = {{port, POLLIN, 0}, {scheduler, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) return 74;
    if (fds[0].revents != 0 && !copy(port, scheduler)) return 0;
    if (fds[1].revents != 0 && !copy(scheduler, port)) return 0;
  }
}
