#include "io/path_waiter.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/io_buffer.hpp"
#include "io/poller.hpp"

namespace ktstats::relay {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{5};
constexpr std::chrono::milliseconds kLongestRetry{100};
constexpr std::chrono::milliseconds kRetryBudget{2000};

// `dir`, or its nearest ancestor that exists.
std::string nearest_existing(std::string dir) {
  while (!dir.empty() && dir != "/" && ::access(dir.c_str(), F_OK) != 0) {
    const auto slash = dir.rfind('/');
    if (slash == std::string::npos) return ".";
    dir.resize(slash == 0 ? 1 : slash);
  }
  return dir.empty() ? "/" : dir;
}

}  // namespace

Status PathWaiter::start(Clock::time_point now, std::optional<std::chrono::milliseconds> limit) {
  if (!inotify_) {
    UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd) return Transport{"inotify_init1", errno};
    inotify_ = std::move(fd);
    serial_ = new_open_serial();
    watched_.clear();
    watch_ = -1;
  }
  if (auto watching = watch_nearest(); !watching) {
    stop();
    return watching;
  }
  give_up_at_.reset();
  if (limit) give_up_at_ = now + *limit;
  next_retry_ = kFirstRetry;
  retries_spent_ = std::chrono::milliseconds(0);
  retry_at_.reset();
  try_now_ = true;
  return Ok{};
}

void PathWaiter::stop() {
  inotify_.reset();
  watch_ = -1;
  watched_.clear();
  changed_ = try_now_ = false;
  retry_at_.reset();
  give_up_at_.reset();
}

Status PathWaiter::watch_nearest() {
  const std::string dir = nearest_existing(dir_);
  if (dir == watched_) return Ok{};
  const int watch = ::inotify_add_watch(inotify_.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
  if (watch < 0) return Transport{"watch " + dir, errno};
  if (watch_ >= 0 && watch_ != watch) ::inotify_rm_watch(inotify_.get(), watch_);
  watch_ = watch;
  watched_ = dir;
  return Ok{};
}

void PathWaiter::drain() {
  auto& buffer = io_buffer();
  while (::read(inotify_.get(), buffer.data(), buffer.size()) > 0) {
  }
}

PathWaiter::Verdict PathWaiter::poll(Clock::time_point now) {
  if (!inotify_) return Verdict::kWait;
  if (changed_) {
    changed_ = false;
    drain();
    // A change: a refusal is worth retrying again.
    next_retry_ = kFirstRetry;
    retries_spent_ = std::chrono::milliseconds(0);
    try_now_ = true;
  }
  if (retry_at_ && now >= *retry_at_) {
    retry_at_.reset();
    try_now_ = true;
  }
  if (try_now_) {
    try_now_ = false;
    return Verdict::kTryNow;
  }
  if (give_up_at_ && now >= *give_up_at_) return Verdict::kGiveUp;
  return Verdict::kWait;
}

void PathWaiter::absent() {
  if (!inotify_) return;
  const std::string before = watched_;
  // A failure leaves the old watch in place: the ancestor it watches still
  // reports the directory's creation.
  if (watch_nearest() && watched_ != before) try_now_ = true;
}

void PathWaiter::refused(Clock::time_point now) {
  if (!inotify_ || retries_spent_ >= kRetryBudget) return;
  retry_at_ = now + next_retry_;
  retries_spent_ += next_retry_;
  next_retry_ = std::min(next_retry_ * 2, kLongestRetry);
}

std::optional<Clock::time_point> PathWaiter::next_deadline() const {
  if (!inotify_) return std::nullopt;
  if (try_now_) return Clock::time_point::min();
  if (retry_at_ && give_up_at_) return std::min(*retry_at_, *give_up_at_);
  return retry_at_ ? retry_at_ : give_up_at_;
}

}  // namespace ktstats::relay
