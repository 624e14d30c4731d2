#include "scheduler_link.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "io_buffer.hpp"
#include "ktstats/duration.hpp"
#include "ktstats/errno_text.hpp"
#include "ktstats/unix_socket.hpp"

namespace ktstats::relay {
namespace {

constexpr int kMaxReadsPerEvent = 16;

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
                             std::chrono::milliseconds response_timeout,
                             std::function<void()> after_event)
    : loop_(loop),
      core_(core),
      socket_path_(std::move(socket_path)),
      response_timeout_(response_timeout),
      after_event_(std::move(after_event)) {}

SchedulerLink::~SchedulerLink() {
  close();
  if (timer_) loop_.remove(timer_.get());
}

Status SchedulerLink::start() {
  timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_) return Transport{"timerfd_create", errno};
  return loop_.add(timer_.get(), EPOLLIN, [this](std::uint32_t) { on_timer(); });
}

std::optional<std::string> SchedulerLink::connect() {
  auto fd = connect_unix_socket(socket_path_);
  if (!fd) {
    const auto& error = std::get<Transport>(fd.error());
    spdlog::debug("scheduler connect failed: {}", describe(fd.error()));
    return connect_failure(socket_path_, error.error);
  }
  socket_ = std::move(*fd);
  want_write_ = false;
  if (auto added = loop_.add(socket_.get(), EPOLLIN | EPOLLRDHUP,
                             [this](std::uint32_t events) { on_socket_event(events); });
      !added) {
    socket_.reset();
    return "relay cannot watch the scheduler socket: " + describe(added.error());
  }
  spdlog::debug("connected to scheduler at {}", socket_path_);
  return std::nullopt;
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

void SchedulerLink::arm(std::chrono::milliseconds after) {
  itimerspec spec{};
  spec.it_value.tv_sec = after.count() / 1000;
  spec.it_value.tv_nsec = (after.count() % 1000) * 1'000'000;
  ::timerfd_settime(timer_.get(), 0, &spec, nullptr);
}

void SchedulerLink::start_timer() { arm(response_timeout_); }

void SchedulerLink::stop_timer() { arm(std::chrono::milliseconds(0)); }

void SchedulerLink::on_timer() {
  std::uint64_t expirations = 0;
  if (::read(timer_.get(), &expirations, sizeof expirations) != sizeof expirations) return;
  spdlog::warn("scheduler gave no response within {}; dropping its connection",
               format_duration(response_timeout_));
  core_.on_response_timeout(format_duration(response_timeout_));
  after_event_();
}

}  // namespace ktstats::relay
