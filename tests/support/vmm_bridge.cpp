#include "vmm_bridge.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace ktstats::test {
namespace {

UniqueFd listen_on(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd.get(), 8) != 0) {
    throw std::runtime_error("cannot listen on " + path);
  }
  return fd;
}

// Copies what is readable; false when the source has closed.
bool pump(int from, int to) {
  char buffer[65536];
  const ssize_t n = ::recv(from, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
  if (n > 0 && to >= 0) {
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t m = ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (m <= 0) break;
      sent += m;
    }
  }
  return true;
}

}  // namespace

VmmBridge::VmmBridge(std::string host_path, std::string guest_path)
    : host_listener_(listen_on(host_path)),
      guest_listener_(listen_on(guest_path)),
      stop_(::eventfd(0, EFD_CLOEXEC)),
      thread_([this] { run(); }) {}

VmmBridge::~VmmBridge() {
  const std::uint64_t one = 1;
  (void)::write(stop_.get(), &one, sizeof one);
  thread_.join();
}

void VmmBridge::run() {
  UniqueFd host, guest;
  for (;;) {
    pollfd fds[5] = {{stop_.get(), POLLIN, 0},
                     {host ? -1 : host_listener_.get(), POLLIN, 0},
                     {guest ? -1 : guest_listener_.get(), POLLIN, 0},
                     // Like QEMU, take nothing from the host while no guest
                     // has the port open: the bytes wait in the socket.
                     {guest ? host.get() : -1, POLLIN, 0},
                     {guest.get(), POLLIN, 0}};
    if (::poll(fds, 5, -1) < 0) continue;
    if (fds[0].revents) return;
    if (fds[1].revents) host.reset(::accept4(host_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fds[2].revents) guest.reset(::accept4(guest_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fds[3].revents && !pump(host.get(), guest.get())) {
      host.reset();
      guest.reset();  // the guest reads EOF: its host left
    }
    if (fds[4].revents && !pump(guest.get(), host.get())) guest.reset();
  }
}

}  // namespace ktstats::test
