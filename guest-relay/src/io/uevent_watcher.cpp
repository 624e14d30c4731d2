#include "io/uevent_watcher.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "io/io_buffer.hpp"
#include "io/poller.hpp"

namespace ktstats::relay {
namespace {

// The multicast group the kernel sends its uevents to (udev resends them,
// processed, to group 2).
constexpr std::uint32_t kKernelEvents = 1;

// The value of KEY in the message's fields, or nothing.
std::string_view field(std::string_view fields, std::string_view key) {
  while (!fields.empty()) {
    const auto end = fields.find('\0');
    const std::string_view entry = fields.substr(0, end);
    if (entry.size() > key.size() && entry.starts_with(key) && entry[key.size()] == '=') {
      return entry.substr(key.size() + 1);
    }
    if (end == std::string_view::npos) break;
    fields.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace

bool announces_virtio_port(std::string_view message) {
  // A kernel message's first field is "ACTION@DEVPATH"; udev's start with
  // its own binary header.
  const auto header_end = message.find('\0');
  if (header_end == std::string_view::npos) return false;
  if (message.substr(0, header_end).find('@') == std::string_view::npos) return false;
  const std::string_view fields = message.substr(header_end + 1);
  const std::string_view action = field(fields, "ACTION");
  return field(fields, "SUBSYSTEM") == "virtio-ports" && (action == "add" || action == "change");
}

Status UeventWatcher::start() {
  if (socket_) return Ok{};
  UniqueFd socket(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           NETLINK_KOBJECT_UEVENT));
  if (!socket) return Transport{"netlink socket", errno};
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = kKernelEvents;
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Transport{"bind to the kernel's uevents", errno};
  }
  socket_ = std::move(socket);
  serial_ = new_open_serial();
  return Ok{};
}

bool UeventWatcher::port_announced() {
  auto& buffer = io_buffer();
  bool announced = false;
  for (;;) {
    sockaddr_nl sender{};
    iovec data{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = &sender;
    message.msg_namelen = sizeof sender;
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    const ssize_t got = ::recvmsg(socket_.get(), &message, MSG_TRUNC);
    if (got < 0) {
      if (errno == EINTR) continue;
      // Overrun: what was lost may have been the port.
      if (errno == ENOBUFS) announced = true;
      return announced;
    }
    // Only the kernel sends from port id 0; a message cut short is not read.
    const bool from_kernel = message.msg_namelen == sizeof sender && sender.nl_family == AF_NETLINK &&
                             sender.nl_pid == 0;
    if (!from_kernel || static_cast<std::size_t>(got) > buffer.size()) continue;
    if (announces_virtio_port({buffer.data(), static_cast<std::size_t>(got)})) announced = true;
  }
}

}  // namespace ktstats::relay
