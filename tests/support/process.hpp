#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ktstats/unique_fd.hpp"

namespace ktstats::test {

using namespace std::chrono_literals;

#ifdef KTSTATS_SANITIZER_BUILD
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

// A child process for tests: stdout on a pipe, stderr to a file, killed
// (SIGKILL) on destruction if still running.
class Process {
 public:
  struct Options {
    std::vector<int> inherit_fds;  // kept open in the child, same numbers
    bool stdin_pipe = false;
  };

  static Process spawn(const std::vector<std::string>& argv, Options options);
  static Process spawn(const std::vector<std::string>& argv) { return spawn(argv, Options{}); }
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return stdout_.get(); }
  int stdin_fd() const { return stdin_.get(); }
  void close_stdin() { stdin_.reset(); }

  // Next stdout line, or nullopt at EOF or after the timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s);
  // All of stdout until EOF, bounded in time.
  std::string read_all(std::chrono::milliseconds timeout = 10s);
  std::string stderr_text() const;
  // Waits, without polling, until stderr holds `text`.
  bool wait_for_stderr(std::string_view text, std::chrono::milliseconds timeout = 10s) const;

  void signal(int signo) const;
  // SIGSTOP, and returns once the kernel reports every thread stopped (a
  // stop sent by kill() takes effect later, thread by thread); false if the
  // process ended instead.
  bool stop() const;
  // Exit status (or 128 + signal), or nullopt if it did not end in time.
  std::optional<int> wait(std::chrono::milliseconds timeout = 10s);

 private:
  Process() = default;
  pid_t pid_ = -1;
  UniqueFd stdout_;
  UniqueFd stdin_;
  std::string stderr_path_;
  std::string pending_;
  std::optional<int> status_;
};

// Milliseconds left until a deadline, 0 once it has passed: for poll().
int remaining_ms(std::chrono::steady_clock::time_point deadline);

// A program run to its end: exit status (nullopt if it outlived the
// timeout), stdout and stderr.
struct Outcome {
  std::optional<int> status;
  std::string out;
  std::string err;
};
Outcome run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s);

// The path of a program: the environment variable if set, else the built one.
std::string program(const char* variable, const char* built);

// A fresh directory under TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Descriptors and resident memory of a live process, from /proc.
std::size_t open_fd_count(pid_t pid);
std::size_t rss_kib(pid_t pid);
std::uint64_t voluntary_switches(pid_t pid);
// Time the process has spent on a CPU, in nanoseconds (schedstat).
std::uint64_t cpu_time_ns(pid_t pid);

}  // namespace ktstats::test
