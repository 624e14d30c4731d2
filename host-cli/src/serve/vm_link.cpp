#include "serve/vm_link.hpp"

#include <sys/inotify.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "ktstats/errno_text.hpp"
#include "ktstats/terminal_text.hpp"

namespace ktstats::serve {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kLastBackoff{5000};
// A connection that lasted this long was a real one: the next attempt
// starts at once, with the backoff from its start.
constexpr std::chrono::seconds kHealthyConnection{1};

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

VmLink::VmLink(std::string vm_name, cli::Endpoint endpoint)
    : name_(std::move(vm_name)),
      endpoint_(std::move(endpoint)),
      directory_(parent_of(endpoint_.path)),
      due_(Clock::time_point{}),
      backoff_(kFirstBackoff) {
  const std::string base = base_of(endpoint_.path);
  if (endpoint_.kind == cli::Endpoint::Kind::kPipe) {
    watched_names_ = {base + ".in", base + ".out"};
  } else {
    watched_names_ = {base};
  }
}

void VmLink::watch_directory(int inotify_fd) {
  if (watch_ >= 0) return;
  watch_ = ::inotify_add_watch(inotify_fd, directory_.c_str(),
                               IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR);
}

std::optional<VmLink::Attempt> VmLink::connect_if_due(Clock::time_point now, int inotify_fd) {
  if (channel_ || !due_ || *due_ > now) return std::nullopt;
  // Before the attempt: a socket made between a failed attempt and the
  // watch would raise no event.
  watch_directory(inotify_fd);
  auto opened = cli::open_endpoint(endpoint_);
  if (opened) {
    channel_ = std::move(*opened);
    connected_at_ = now;
    due_.reset();
    last_fault_.clear();
    ++connections_;
    spdlog::info("{}: connected to {} (connection {})", name_, escape_for_terminal(endpoint_.uri),
                 connections_);
    return Attempt{true, {}};
  }
  const auto* transport = std::get_if<Transport>(&opened.error());
  const int error = transport ? transport->error : 0;
  Attempt attempt;
  if (error == ENOENT) {
    attempt.fault = {ENOTCONN, name_ + ": waiting for the VM's port " + endpoint_.uri +
                                   " to appear (is the VM running?)"};
  } else {
    attempt.fault = {error == 0 ? ECONNREFUSED : error,
                     name_ + ": cannot connect to " + endpoint_.uri + ": " +
                         (error == 0 ? describe(opened.error()) : errno_text(error))};
  }
  if (error == ENOENT && watch_ >= 0) {
    due_.reset();  // inotify says when it appears
  } else {
    due_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, kLastBackoff);
  }
  if (attempt.fault.text != last_fault_) {
    spdlog::warn("{}", escape_for_terminal(attempt.fault.text, 400));
    last_fault_ = attempt.fault.text;
  }
  return attempt;
}

void VmLink::on_directory_event(Clock::time_point now, std::string_view file_name) {
  if (channel_) return;
  if (std::find(watched_names_.begin(), watched_names_.end(), file_name) == watched_names_.end()) {
    return;
  }
  if (!due_ || *due_ > now) due_ = now;
}

void VmLink::on_watch_gone(Clock::time_point now) {
  watch_ = -1;
  if (!channel_ && !due_) due_ = now + backoff_;
}

void VmLink::ended(Clock::time_point now) {
  channel_.reset();
  if (now - connected_at_ >= kHealthyConnection) {
    backoff_ = kFirstBackoff;
    due_ = now;
  } else {
    due_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, kLastBackoff);
  }
}

std::optional<Clock::time_point> VmLink::next_deadline() const {
  if (channel_) return std::nullopt;
  return due_;
}

}  // namespace ktstats::serve
