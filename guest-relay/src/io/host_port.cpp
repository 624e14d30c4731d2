#include "io/host_port.hpp"

#include <cerrno>

#include "io/io_buffer.hpp"
#include "io/poller.hpp"
#include "ktstats/duration.hpp"
#include "ktstats/errno_text.hpp"
#include "logger.hpp"

namespace ktstats::relay {
namespace {

// Reads of a gone host's leftover bytes, at most, before the next host's.
constexpr int kMaxDiscardReads = 16;

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

bool is_refusal(const Error& error) {
  const auto* transport = std::get_if<Transport>(&error);
  return transport != nullptr && transport->error == ECONNREFUSED;
}

// A write or read error that says the peer left, not that the port broke.
bool is_peer_gone(int error) { return error == EPIPE || error == ECONNRESET; }

}  // namespace

HostPort::HostPort(PortSpec spec, std::optional<std::chrono::milliseconds> wait_limit)
    : spec_(std::move(spec)), wait_limit_(wait_limit), waiter_(port_parent_dir(spec_)) {}

Result<bool> HostPort::open(Clock::time_point now) {
  switch (state_) {
    case State::kOpen:
    case State::kFinished:
      return false;
    case State::kClosed: {
      auto opened = try_open(now);
      if (!opened || is_open()) return opened;
      if (!ever_opened_) logger::info("waiting for {} to appear", describe_port(spec_));
      const auto limit = ever_opened_ ? std::nullopt : wait_limit_;
      if (auto started = waiter_.start(now, limit); !started) {
        return Transport{"cannot wait for the port: " + describe(started.error())};
      }
      listen_for_ports();
      state_ = State::kWaiting;
      return true;
    }
    case State::kWaiting:
      switch (waiter_.poll(now)) {
        case PathWaiter::Verdict::kWait:
          return false;
        case PathWaiter::Verdict::kTryNow:
          return try_open(now);
        case PathWaiter::Verdict::kGiveUp:
          return Transport{describe_port(spec_) + " did not appear within " +
                           format_duration(*wait_limit_) +
                           " (is the virtio_console module loaded and the port configured in the VMM?)"};
      }
  }
  return false;
}

// true when it tried; opened or not, is_open() says.
Result<bool> HostPort::try_open(Clock::time_point now) {
  if (spec_.kind == PortSpec::Kind::kFd) {
    opened(adopt_port_fd(spec_.fd), {});
    return true;
  }
  const auto path = resolve_port_path(spec_);
  if (!path) return true;
  auto port = open_port_channel(*path);
  if (!port) {
    if (!is_absence(port.error()) && !ever_opened_) return std::move(port).error();
    logger::debug("port not ready: {}", describe(port.error()));
    if (is_refusal(port.error())) {
      waiter_.refused(now);
    } else {
      waiter_.absent();
    }
    return true;
  }
  opened(std::move(*port), *path);
  return true;
}

// A port's name reaches sysfs after its device node appears in /dev, and
// only the kernel's uevent says so. Without it (netlink not allowed), a
// later change in /dev still makes the relay look again.
void HostPort::listen_for_ports() {
  if (!finds_port_by_name(spec_)) return;
  if (auto listening = uevents_.start(); !listening) {
    logger::debug("not hearing the kernel's port announcements ({}); watching /dev only",
                  describe(listening.error()));
  }
}

void HostPort::on_uevents() {
  if (!uevents_.port_announced()) return;
  logger::debug("a virtio port was added or named: looking again");
  if (state_ == State::kWaiting) waiter_.on_readable();
  if (is_open() && on_fallback_) recheck_ = true;
}

bool HostPort::leave_if_superseded() {
  if (!recheck_) return false;
  recheck_ = false;
  if (!is_open()) return false;
  const auto path = resolve_port_path(spec_);
  if (path == path_) return false;
  if (path) {
    logger::info("leaving {}: the port named {} appeared as {}", path_, kDefaultPortName, *path);
  } else {
    logger::info("leaving {}: it is named for another program", path_);
  }
  close();
  state_ = State::kClosed;
  return true;
}

void HostPort::opened(PortChannel port, std::string_view path) {
  waiter_.stop();
  path_ = path;
  on_fallback_ = is_fallback(spec_, path);
  // A name that reached sysfs while the fallback was being opened raised
  // its uevent before the relay listened for it: looked for once now.
  recheck_ = on_fallback_;
  // Listened to while serving the fallback: the named port may appear yet.
  if (on_fallback_) {
    listen_for_ports();
  } else {
    uevents_.stop();
  }
  port_ = std::move(port);
  serial_ = new_open_serial();
  state_ = State::kOpen;
  ever_opened_ = true;
  // The edge-triggered registration reports the port's state at once.
  readable_ = writable_ = hung_up_ = peer_closing_ = false;
  host_seen_ = read_unseen_ = false;
  unseen_until_.reset();
  logger::info("serving {}", port_.channel->description());
}

void HostPort::on_ready(std::uint32_t events) {
  logger::trace("port events {:#x}", events);
  if (!is_open()) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  // A write to a port whose peer left fails at once, and says so.
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
  hung_up_ = (events & (EPOLLHUP | EPOLLERR)) != 0;
  peer_closing_ = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  if (!(events & EPOLLHUP)) see_host();
}

// A stream socket's short read took all it held, and bytes arriving later
// raise a new edge: no read for EAGAIN. Not so for a virtio port, whose
// read returns one buffer of several queued, nor once the peer's end was
// reported: only a read can still see that EOF. (A host sending with
// MSG_OOB cuts a read short with bytes behind it; they wait for its next
// write: it delays only its own requests.)
bool HostPort::drained_by_short_read() const {
  return port_.after_eof == AfterEof::kReconnect && !peer_closing_;
}

void HostPort::see_host() {
  host_seen_ = true;
  read_unseen_ = false;
  unseen_until_.reset();
}

Transfer HostPort::read(std::span<char> buffer, Clock::time_point now) {
  const IoResult got = port_.channel->read(buffer);
  logger::trace("port read: {} {}", static_cast<int>(got.kind), got.bytes);
  switch (got.kind) {
    case IoResult::Kind::kDone:
      if (!host_seen_) read_unseen_ = true;
      if (got.bytes < buffer.size() && drained_by_short_read()) readable_ = false;
      return Transfer::moved(got.bytes);
    case IoResult::Kind::kWouldBlock:
      readable_ = false;
      return Transfer::nothing();
    case IoResult::Kind::kEof:
      if (port_.after_eof == AfterEof::kPeerMayReturn && !host_seen_) {
        // Bytes, then EOF, before the host was seen to attach: its arrival
        // is likely still on its way. Keep what it sent, for a while, and
        // wait for the next edge.
        readable_ = false;
        if (read_unseen_ && !unseen_until_) unseen_until_ = now + kUnseenHostHold;
        return Transfer::nothing();
      }
      end_host(false);
      return Transfer::ended();
    case IoResult::Kind::kFailed: return failed(got.error);
  }
  return Transfer::nothing();
}

Transfer HostPort::write(std::string_view bytes) {
  const IoResult put = port_.channel->write(bytes);
  logger::trace("port write: {} {} of {}", static_cast<int>(put.kind), put.bytes, bytes.size());
  switch (put.kind) {
    case IoResult::Kind::kDone:
      see_host();
      return Transfer::moved(put.bytes);
    case IoResult::Kind::kWouldBlock:
      writable_ = false;
      return Transfer::nothing();
    case IoResult::Kind::kEof:
      break;
    case IoResult::Kind::kFailed: return failed(put.error);
  }
  return Transfer::nothing();
}

// A read or write failed. The peer gone ends the host at once, whichever
// way it showed: its answers may be backed up, so the relay is not reading
// and would never see its EOF. Anything else is the port failing.
Transfer HostPort::failed(int error) {
  if (is_peer_gone(error)) {
    end_host(false);
  } else {
    fail(error);
  }
  return Transfer::ended();
}

bool HostPort::host_left(Clock::time_point now, bool reading) {
  if (!is_open()) return false;
  const bool peer_may_return = port_.after_eof == AfterEof::kPeerMayReturn;
  // A hang-up after unseen bytes counts as their EOF: the relay may have
  // stopped reading before it got there.
  if (peer_may_return && hung_up_ && read_unseen_ && !unseen_until_) {
    unseen_until_ = now + kUnseenHostHold;
  }
  if (unseen_until_ && now >= *unseen_until_) {
    logger::debug("bytes came, then EOF, and no host was seen attached within {}s: it left",
                  kUnseenHostHold.count());
    end_host(true);
    return true;
  }
  // While the relay reads, the read reports the end, after the host's last
  // bytes; a virtio port reports HUP whenever no host is attached, so there
  // it counts only once the host was seen.
  if (hung_up_ && !reading && (!peer_may_return || host_seen_)) {
    end_host(true);
    return true;
  }
  return false;
}

std::optional<Clock::time_point> HostPort::next_deadline() const {
  if (state_ == State::kWaiting) return waiter_.next_deadline();
  return unseen_until_;
}

void HostPort::end_host(bool discard_unread) {
  logger::debug("host session ended");
  host_seen_ = read_unseen_ = false;
  unseen_until_.reset();
  switch (port_.after_eof) {
    case AfterEof::kPeerMayReturn:
      // What the gone host sent and the relay never read must not be taken
      // for the next host's.
      for (int i = 0; discard_unread && i < kMaxDiscardReads; ++i) {
        if (port_.channel->read(io_buffer()).kind != IoResult::Kind::kDone) break;
      }
      readable_ = false;  // the next edge comes when a host attaches
      return;
    case AfterEof::kReconnect:
      close();
      state_ = State::kClosed;
      return;
    case AfterEof::kFinished:
      logger::info("{} closed", port_.channel->description());
      close();
      state_ = State::kFinished;
      return;
  }
}

// The device went away (hot-unplug, module removed): wait for it again.
// An inherited descriptor cannot come back.
void HostPort::fail(int error) {
  const bool finished = port_.after_eof == AfterEof::kFinished;
  logger::warn("{} failed: {}{}", port_.channel->description(), errno_text(error),
               finished ? "" : "; waiting for it to come back");
  close();
  state_ = finished ? State::kFinished : State::kClosed;
}

void HostPort::close() {
  port_.channel.reset();
  readable_ = writable_ = hung_up_ = peer_closing_ = false;
  host_seen_ = read_unseen_ = false;
  unseen_until_.reset();
}

}  // namespace ktstats::relay
