#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace ktstats::test {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

Outcome run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  auto process = Process::spawn(argv);
  Outcome outcome;
  outcome.out = process.read_all(timeout);
  outcome.status = process.wait(timeout);
  outcome.err = process.stderr_text();
  return outcome;
}

Process Process::spawn(const std::vector<std::string>& argv, Options options) {
  int out[2];
  int in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  if (options.stdin_pipe && ::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  char templ[] = "/tmp/ktstats-stderr-XXXXXX";
  const int err = ::mkstemp(templ);
  Process process;
  process.stderr_path_ = templ;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    if (in[0] >= 0) ::dup2(in[0], STDIN_FILENO);
    for (int fd : options.inherit_fds) ::fcntl(fd, F_SETFD, 0);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err);
  if (in[0] >= 0) ::close(in[0]);
  process.pid_ = pid;
  process.stdout_.reset(out[0]);
  if (in[1] >= 0) process.stdin_.reset(in[1]);
  return process;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdout_(std::move(other.stdout_)),
      stdin_(std::move(other.stdin_)),
      stderr_path_(std::move(other.stderr_path_)),
      pending_(std::move(other.pending_)),
      status_(other.status_) {}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto newline = pending_.find('\n'); newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    pollfd pfd{stdout_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) return std::nullopt;
    char buffer[65536];
    const ssize_t n = ::read(stdout_.get(), buffer, sizeof buffer);
    if (n <= 0) return std::nullopt;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string Process::read_all(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string all = std::move(pending_);
  pending_.clear();
  for (;;) {
    pollfd pfd{stdout_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) return all;
    char buffer[65536];
    const ssize_t n = ::read(stdout_.get(), buffer, sizeof buffer);
    if (n <= 0) return all;
    all.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string Process::stderr_text() const {
  std::ifstream file(stderr_path_);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

bool Process::wait_for_stderr(std::string_view text, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  ::inotify_add_watch(watch.get(), stderr_path_.c_str(), IN_MODIFY);
  for (;;) {
    if (stderr_text().find(text) != std::string::npos) return true;
    pollfd pfd{watch.get(), POLLIN, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) return false;
    char events[4096];
    while (::read(watch.get(), events, sizeof events) > 0) {
    }
  }
}

void Process::signal(int signo) const { ::kill(pid_, signo); }

bool Process::stop() const {
  if (::kill(pid_, SIGSTOP) != 0) return false;
  // SIGSTOP cannot be caught: the child stops or ends, and waitid returns
  // for either; WNOWAIT leaves an end to be reaped by wait().
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) return false;
  }
  return info.si_code == CLD_STOPPED;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (pidfd) {
    pollfd pfd{pidfd.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  }
  int status = 0;
  if (::waitpid(pid_, &status, pidfd ? 0 : WNOHANG) != pid_) return std::nullopt;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

std::string program(const char* variable, const char* built) {
  const char* path = std::getenv(variable);
  return path != nullptr ? path : built;
}

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "ktstats-test-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::size_t open_fd_count(pid_t pid) {
  std::size_t count = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    ++count;
  }
  return count;
}

namespace {
std::uint64_t status_field(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}
}  // namespace

std::size_t rss_kib(pid_t pid) { return status_field(pid, "VmRSS"); }

std::uint64_t voluntary_switches(pid_t pid) { return status_field(pid, "voluntary_ctxt_switches"); }

std::uint64_t cpu_time_ns(pid_t pid) {
  std::ifstream schedstat("/proc/" + std::to_string(pid) + "/schedstat");
  std::uint64_t on_cpu = 0;
  schedstat >> on_cpu;
  return on_cpu;
}

}  // namespace ktstats::test
