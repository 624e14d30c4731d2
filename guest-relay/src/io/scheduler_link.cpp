#include "io/scheduler_link.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "io/io_buffer.hpp"
#include "ktstats/duration.hpp"
#include "ktstats/errno_text.hpp"
#include "ktstats/unix_socket.hpp"

namespace ktstats::relay {
namespace {

constexpr int kMaxReadsPerEvent = 16;

// The socket's directory, or its nearest existing ancestor: where the
// socket (or the directories leading to it) will appear.
std::string nearest_existing_dir(const std::string& socket_path) {
  std::string dir = socket_path.substr(0, socket_path.rfind('/'));
  while (!dir.empty() && ::access(dir.c_str(), F_OK) != 0) dir = dir.substr(0, dir.rfind('/'));
  return dir.empty() ? "/" : dir;
}

// The socket is not there yet, or left behind by a scheduler that exited:
// worth waiting for a new one.
bool is_absence(int error) { return error == ENOENT || error == ECONNREFUSED; }

std::string connect_failure(const std::string& path, int error) {
  switch (error) {
    case ENOENT: return "no scheduler socket at " + path;
    case ECONNREFUSED: return "scheduler socket " + path + " refused the connection";
    case EAGAIN: return "scheduler socket " + path + " is not accepting connections (backlog full)";
    default: return "cannot connect to scheduler socket " + path + ": " + errno_text(error);
  }
}

}  // namespace

SchedulerLink::SchedulerLink(EventLoop& loop, RelayCore& core, std::string socket_path,
                             Timing timing, std::function<void()> after_event)
    : loop_(loop),
      core_(core),
      socket_path_(std::move(socket_path)),
      timing_(timing),
      after_event_(std::move(after_event)),
      response_timer_(loop, [this] { on_response_timeout(); }),
      wait_timer_(loop, [this] { on_wait_timeout(); }),
      socket_dir_watch_(loop, [this] { on_socket_dir_change(); }),
      refused_retry_(loop, [this] { retry_connect(); }) {}

SchedulerLink::~SchedulerLink() { close(); }

Status SchedulerLink::start() {
  if (auto started = response_timer_.start(); !started) return started;
  if (auto started = wait_timer_.start(); !started) return started;
  return refused_retry_.start();
}

Result<UniqueFd> SchedulerLink::try_connect() {
  auto fd = connect_unix_socket(socket_path_);
  if (!fd) spdlog::debug("scheduler connect failed: {}", describe(fd.error()));
  return fd;
}

// Takes a connected socket into the loop; false, with the reason, if it
// cannot be watched.
bool SchedulerLink::adopt(UniqueFd fd, std::string* failure) {
  socket_ = std::move(fd);
  want_write_ = false;
  if (auto added = loop_.add(socket_.get(), EPOLLIN | EPOLLRDHUP,
                             [this](std::uint32_t events) { on_socket_event(events); });
      !added) {
    socket_.reset();
    *failure = "relay cannot watch the scheduler socket: " + describe(added.error());
    return false;
  }
  spdlog::debug("connected to scheduler at {}", socket_path_);
  return true;
}

RelayEffects::Connect SchedulerLink::connect(bool may_wait) {
  using Outcome = RelayEffects::Connect::Outcome;
  auto fd = try_connect();
  std::string failure;
  if (fd) {
    if (adopt(std::move(*fd), &failure)) return {Outcome::kConnected, {}};
    return {Outcome::kFailed, failure};
  }
  const int error = std::get<Transport>(fd.error()).error;
  failure = connect_failure(socket_path_, error);
  if (!may_wait || !is_absence(error) || timing_.scheduler_wait.count() == 0) {
    return {Outcome::kFailed, failure};
  }
  wait_failure_ = failure;
  waiting_ = true;
  watched_dir_.clear();
  wait_timer_.arm(timing_.scheduler_wait);
  spdlog::debug("waiting up to {} for {}", format_duration(timing_.scheduler_wait), socket_path_);
  switch (watch_and_retry()) {
    case Retry::kConnected: return {Outcome::kConnected, {}};
    case Retry::kFailed: return {Outcome::kFailed, wait_failure_};
    case Retry::kWaiting: break;
  }
  return {Outcome::kWaiting, {}};
}

// Watches the deepest existing directory on the socket's path, then tries
// the socket again: what appears after the watch raises an event, what
// appeared before it the connect finds.
SchedulerLink::Retry SchedulerLink::watch_and_retry() {
  for (;;) {
    const std::string dir = nearest_existing_dir(socket_path_);
    if (dir != watched_dir_) {
      if (auto watching = socket_dir_watch_.watch(dir); !watching) {
        spdlog::warn("cannot watch for the scheduler socket: {}", describe(watching.error()));
      }
      watched_dir_ = dir;
    }
    auto fd = try_connect();
    if (fd) {
      stop_waiting();
      return adopt(std::move(*fd), &wait_failure_) ? Retry::kConnected : Retry::kFailed;
    }
    const int error = std::get<Transport>(fd.error()).error;
    wait_failure_ = connect_failure(socket_path_, error);
    if (nearest_existing_dir(socket_path_) != watched_dir_) continue;
    if (error == ECONNREFUSED) refused_retry_.refused();
    return Retry::kWaiting;
  }
}

void SchedulerLink::stop_waiting() {
  if (!waiting_) return;
  waiting_ = false;
  socket_dir_watch_.stop();
  wait_timer_.disarm();
  refused_retry_.cancel();
}

void SchedulerLink::on_socket_dir_change() {
  refused_retry_.socket_changed();
  retry_connect();
}

void SchedulerLink::retry_connect() {
  if (!waiting_) return;
  switch (watch_and_retry()) {
    case Retry::kWaiting: return;
    case Retry::kConnected: core_.on_scheduler_connected(); break;
    case Retry::kFailed: core_.on_scheduler_unavailable(wait_failure_); break;
  }
  after_event_();
}

void SchedulerLink::on_wait_timeout() {
  if (!waiting_) return;
  stop_waiting();
  core_.on_scheduler_unavailable(wait_failure_ + " (waited " +
                                 format_duration(timing_.scheduler_wait) + ")");
  after_event_();
}

void SchedulerLink::send(std::string_view line) {
  output_.append(line);
  output_.push_back('\n');
  flush();
}

void SchedulerLink::flush() {
  while (!output_.empty() && socket_) {
    const ssize_t n = ::send(socket_.get(), output_.data(), output_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      output_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN waits for EPOLLOUT; a broken socket shows up as EPOLLHUP/ERR
    // in the loop, which reports it to the core.
    break;
  }
  const bool want_write = !output_.empty() && socket_;
  if (want_write != want_write_ && socket_) {
    want_write_ = want_write;
    (void)loop_.modify(socket_.get(), EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u));
  }
}

void SchedulerLink::close() {
  stop_waiting();
  if (!socket_) return;
  loop_.remove(socket_.get());
  socket_.reset();
  output_.clear();
  want_write_ = false;
}

void SchedulerLink::on_socket_event(std::uint32_t events) {
  if (events & EPOLLOUT) flush();
  auto& buffer = io_buffer();
  // Bounded per wake-up so a flooding scheduler cannot starve the port;
  // level-triggered epoll calls again for the rest.
  for (int reads = 0; socket_ && reads < kMaxReadsPerEvent; ++reads) {
    const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (n > 0) {
      core_.on_scheduler_bytes(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      // A short read emptied the socket; level-triggered epoll reports
      // anything that arrived since.
      if (static_cast<std::size_t>(n) < buffer.size()) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    spdlog::debug("scheduler connection ended: {}", n == 0 ? "EOF" : errno_text(errno));
    close();
    core_.on_scheduler_closed();
  }
  after_event_();
}

void SchedulerLink::start_timer() { response_timer_.arm(timing_.response_timeout); }

void SchedulerLink::stop_timer() { response_timer_.disarm(); }

void SchedulerLink::on_response_timeout() {
  spdlog::warn("scheduler gave no response within {}; dropping its connection",
               format_duration(timing_.response_timeout));
  core_.on_response_timeout(format_duration(timing_.response_timeout));
  after_event_();
}

}  // namespace ktstats::relay
