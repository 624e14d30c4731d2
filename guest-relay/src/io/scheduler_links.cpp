#include "io/scheduler_links.hpp"

#include <cerrno>

#include "io/poller.hpp"
#include "ktstats/errno_text.hpp"
#include "ktstats/unix_socket.hpp"
#include "logger.hpp"

namespace ktstats::relay {
namespace {

// The socket is not there yet, or left behind by a scheduler that exited:
// worth waiting for a new one.
bool is_absence(int error) { return error == ENOENT || error == ECONNREFUSED; }

int error_of(const Error& error) {
  const auto* transport = std::get_if<Transport>(&error);
  return transport != nullptr ? transport->error : 0;
}

std::string connect_failure(const std::string& path, int error) {
  switch (error) {
    case ENOENT: return "no scheduler socket at " + path;
    case ECONNREFUSED: return "scheduler socket " + path + " refused the connection";
    case EAGAIN: return "scheduler socket " + path + " is not accepting connections (backlog full)";
    default: return "cannot connect to scheduler socket " + path + ": " + errno_text(error);
  }
}

std::string socket_dir(const std::string& socket_path) {
  const auto slash = socket_path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : socket_path.substr(0, slash);
}

}  // namespace

Transfer SchedulerLink::read(std::span<char> buffer) {
  const IoResult got = channel_->read(buffer);
  switch (got.kind) {
    case IoResult::Kind::kDone:
      // A short read emptied the socket; level-triggered epoll reports
      // anything that arrived since.
      if (got.bytes < buffer.size()) readable_ = false;
      return Transfer::moved(got.bytes);
    case IoResult::Kind::kWouldBlock:
      readable_ = false;
      return Transfer::nothing();
    case IoResult::Kind::kEof:
    case IoResult::Kind::kFailed:
      logger::debug("scheduler connection ended: {}",
                    got.kind == IoResult::Kind::kEof ? "EOF" : errno_text(got.error));
      close();
      return Transfer::ended();
  }
  return Transfer::nothing();
}

Transfer SchedulerLink::write(std::string_view bytes) {
  const IoResult put = channel_->write(bytes);
  switch (put.kind) {
    case IoResult::Kind::kDone:
      return Transfer::moved(put.bytes);
    case IoResult::Kind::kWouldBlock:
      writable_ = false;
      return Transfer::nothing();
    case IoResult::Kind::kEof:
    case IoResult::Kind::kFailed:
      logger::debug("scheduler connection broke: {}", errno_text(put.error));
      close();
      return Transfer::ended();
  }
  return Transfer::nothing();
}

void SchedulerLink::on_ready(std::uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
}

SchedulerLinks::SchedulerLinks(std::string socket_path)
    : socket_path_(std::move(socket_path)), waiter_(socket_dir(socket_path_)) {}

Result<std::unique_ptr<Channel>> SchedulerLinks::try_connect() {
  auto channel = open_unix_channel(socket_path_);
  if (!channel) logger::debug("scheduler connect failed: {}", describe(channel.error()));
  return channel;
}

SchedulerLinks::Outcome SchedulerLinks::connect(LinkId link, bool may_wait, Clock::time_point now) {
  close(link);
  auto channel = try_connect();
  if (channel) {
    links_.insert_or_assign(link, SchedulerLink(std::move(*channel), new_open_serial()));
    logger::debug("link {} connected to scheduler at {}", link, socket_path_);
    return {Outcome::Kind::kConnected, link, {}};
  }
  const int error = error_of(channel.error());
  std::string reason = connect_failure(socket_path_, error);
  if (!may_wait || !is_absence(error)) return {Outcome::Kind::kFailed, link, std::move(reason)};
  if (waiting_.empty()) {
    if (auto started = waiter_.start(now); !started) {
      return {Outcome::Kind::kFailed, link,
              reason + " (cannot wait for it: " + describe(started.error()) + ")"};
    }
  }
  waiting_.insert(link);
  if (error == ECONNREFUSED) waiter_.refused(now);
  logger::debug("link {} waits for {}", link, socket_path_);
  return {Outcome::Kind::kWaiting, link, std::move(reason)};
}

void SchedulerLinks::close(LinkId link) {
  if (waiting_.erase(link) != 0 && waiting_.empty()) waiter_.stop();
  links_.erase(link);
}

bool SchedulerLinks::connect_waiting(Clock::time_point now, std::vector<Outcome>& outcomes) {
  if (waiting_.empty() || waiter_.poll(now) != PathWaiter::Verdict::kTryNow) return false;
  while (!waiting_.empty()) {
    const LinkId link = *waiting_.begin();
    auto channel = try_connect();
    if (!channel) {
      const int error = error_of(channel.error());
      if (is_absence(error)) {
        // Still not there, for this link and every other.
        if (error == ECONNREFUSED) {
          waiter_.refused(now);
        } else {
          waiter_.absent();
        }
        return true;
      }
      outcomes.push_back({Outcome::Kind::kFailed, link, connect_failure(socket_path_, error)});
    } else {
      links_.insert_or_assign(link, SchedulerLink(std::move(*channel), new_open_serial()));
      logger::debug("link {} connected to scheduler at {}", link, socket_path_);
      outcomes.push_back({Outcome::Kind::kConnected, link, {}});
    }
    waiting_.erase(waiting_.begin());
  }
  waiter_.stop();
  return true;
}

SchedulerLink* SchedulerLinks::find_open(LinkId link) {
  const auto it = links_.find(link);
  return it != links_.end() && it->second.is_open() ? &it->second : nullptr;
}

void SchedulerLinks::forget_closed() {
  std::erase_if(links_, [](const auto& entry) { return !entry.second.is_open(); });
}

void SchedulerLinks::on_ready(LinkId link, std::uint32_t events) {
  if (auto it = links_.find(link); it != links_.end() && it->second.is_open()) {
    it->second.on_ready(events);
  }
}

}  // namespace ktstats::relay
