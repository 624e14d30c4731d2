#include "io/host_port.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "io/io_buffer.hpp"
#include "ktstats/duration.hpp"
#include "ktstats/errno_text.hpp"
#include "io/virtio_port.hpp"

namespace ktstats::relay {
namespace {

constexpr std::uint32_t kPortEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

// Errors that mean "not there yet" rather than "never will be".
bool is_absence(const Error& error) {
  const auto* transport = std::get_if<Transport>(&error);
  if (transport == nullptr) return false;
  switch (transport->error) {
    case ENOENT:
    case ENXIO:
    case ENODEV:
    case ECONNREFUSED:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

}  // namespace

HostPort::HostPort(EventLoop& loop, RelayCore& core, PortSpec spec,
                   std::optional<std::chrono::milliseconds> wait_limit, Callbacks callbacks)
    : loop_(loop),
      core_(core),
      spec_(std::move(spec)),
      wait_limit_(wait_limit),
      callbacks_(std::move(callbacks)),
      watch_(loop, [this] { on_port_change(); }),
      refused_retry_(loop, [this] { retry_open(); }),
      wait_timer_(loop, [this] { on_wait_timeout(); }) {}

HostPort::~HostPort() { close_channel(); }

Status HostPort::start() {
  if (auto started = refused_retry_.start(); !started) return started;
  auto opened = try_open();
  if (!opened) return std::move(opened).error();
  if (*opened == Opened::kYes) return Ok{};
  spdlog::info("waiting for {} to appear", describe_port(spec_));
  wait_for_port();
  if (wait_limit_) {
    if (auto started = wait_timer_.start(); !started) return started;
    wait_timer_.arm(*wait_limit_);
  }
  return Ok{};
}

Result<HostPort::Opened> HostPort::try_open() {
  if (spec_.kind == PortSpec::Kind::kFd) {
    channel_ = adopt_port_fd(spec_.fd);
  } else {
    const auto path = resolve_port_path(spec_);
    if (!path) return Opened::kNotYet;
    auto channel = open_port(*path);
    if (!channel) {
      if (is_absence(channel.error()) || ever_opened_) {
        spdlog::debug("port not ready: {}", describe(channel.error()));
        const auto* transport = std::get_if<Transport>(&channel.error());
        if (transport != nullptr && transport->error == ECONNREFUSED) refused_retry_.refused();
        return Opened::kNotYet;
      }
      return std::move(channel).error();
    }
    channel_ = std::move(*channel);
  }
  if (auto added = loop_.add(channel_->read_fd(), kPortEvents,
                             [this](std::uint32_t events) { on_event(events); });
      !added) {
    channel_.reset();
    return std::move(added).error();
  }
  watch_.stop();
  refused_retry_.cancel();
  wait_timer_.disarm();
  ever_opened_ = true;
  readable_ = writable_ = false;  // the edge-triggered registration reports both
  spdlog::info("serving {}", channel_->description());
  return Opened::kYes;
}

void HostPort::wait_for_port() {
  const auto dir = port_parent_dir(spec_);
  if (auto watching = watch_.watch(dir); !watching) {
    callbacks_.fatal("cannot wait for the port: " + describe(watching.error()));
  }
  // It may have appeared between the failed open and the watch.
  on_port_change();
}

void HostPort::on_port_change() {
  refused_retry_.socket_changed();
  retry_open();
}

void HostPort::retry_open() {
  if (channel_) return;
  auto opened = try_open();
  if (!opened) callbacks_.fatal(describe(opened.error()));
}

void HostPort::on_wait_timeout() {
  if (channel_) return;
  callbacks_.fatal(describe_port(spec_) + " did not appear within " +
                   format_duration(*wait_limit_) +
                   " (is the virtio_console module loaded and the port configured in the VMM?)");
}

void HostPort::on_event(std::uint32_t events) {
  spdlog::trace("port events {:#x}", events);
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  if (events & EPOLLOUT) writable_ = true;
  if (!(events & EPOLLHUP)) host_seen_ = true;
  service();
}

void HostPort::service() {
  bool progress = true;
  while (channel_ && progress) {
    progress = false;
    if (writable_ && !core_.host_output().empty()) progress |= flush();
    if (channel_ && readable_ && core_.wants_host_input()) progress |= read_some();
  }
}

bool HostPort::flush() {
  const auto out = core_.host_output();
  const ssize_t n = ::write(channel_->write_fd(), out.data(), out.size());
  spdlog::trace("port write {} of {}", n < 0 ? -errno : n, out.size());
  if (n > 0) {
    host_seen_ = true;
    core_.host_output_written(static_cast<std::size_t>(n));
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    writable_ = false;
    return false;
  }
  // EPIPE or the like: the read side reports the end of the session.
  writable_ = false;
  readable_ = true;
  return true;
}

bool HostPort::read_some() {
  auto& buffer = io_buffer();
  const ssize_t n = ::read(channel_->read_fd(), buffer.data(), buffer.size());
  spdlog::trace("port read {}", n < 0 ? -errno : n);
  if (n > 0) {
    core_.on_host_bytes(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    readable_ = false;
    return false;
  }
  if (n == 0 && channel_->after_eof() == AfterEof::kPeerMayReturn && !host_seen_) {
    // Bytes, then EOF, before the host was seen to attach: its arrival is
    // still on its way. Keep what it sent and wait for the next edge.
    readable_ = false;
    return false;
  }
  if (n == 0 || errno == ECONNRESET) {
    on_host_gone();
  } else {
    on_port_failed(errno);
  }
  return false;
}

void HostPort::on_host_gone() {
  host_seen_ = false;
  core_.end_session();
  spdlog::debug("host session ended");
  switch (channel_->after_eof()) {
    case AfterEof::kPeerMayReturn:
      readable_ = false;  // the next edge comes when a host attaches
      return;
    case AfterEof::kReconnect:
      close_channel();
      wait_for_port();
      return;
    case AfterEof::kFinished:
      spdlog::info("{} closed", channel_->description());
      close_channel();
      callbacks_.finished();
      return;
  }
}

// The device went away (hot-unplug, module removed): wait for it again.
// An inherited descriptor cannot come back.
void HostPort::on_port_failed(int error) {
  core_.end_session();
  const bool finished = channel_->after_eof() == AfterEof::kFinished;
  spdlog::warn("{} failed: {}{}", channel_->description(), errno_text(error),
               finished ? "" : "; waiting for it to come back");
  close_channel();
  if (finished) {
    callbacks_.finished();
  } else {
    wait_for_port();
  }
}

void HostPort::close_channel() {
  if (!channel_) return;
  loop_.remove(channel_->read_fd());
  channel_.reset();
  readable_ = writable_ = false;
}

}  // namespace ktstats::relay
