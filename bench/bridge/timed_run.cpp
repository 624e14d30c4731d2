#include "timed_run.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "ktstats/unique_fd.hpp"

namespace ktstats::bench {
namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

[[noreturn]] void exec_spawner(const std::vector<std::string>& argv, const Pipe& in, const Pipe& out,
                               const Pipe& report) {
  ::dup2(in.read.get(), STDIN_FILENO);
  ::dup2(out.write.get(), STDOUT_FILENO);
  ::dup2(report.write.get(), 3);
  std::vector<char*> args{const_cast<char*>(BENCH_SPAWN)};
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

std::string read_all(int fd) {
  std::string text;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
    if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
    else if (errno != EINTR) break;
  }
  return text;
}

}  // namespace

TimedRun run_timed(const std::vector<std::string>& argv, const std::string& input) {
  Pipe in = make_pipe(), out = make_pipe(), report = make_pipe();
  if (!in.read || !out.read || !report.read) return {};
  const pid_t pid = ::fork();
  if (pid == 0) exec_spawner(argv, in, out, report);
  in.read.reset();
  out.write.reset();
  report.write.reset();
  // Requests are one short line: it fits in the pipe without blocking.
  if (::write(in.write.get(), input.data(), input.size()) < 0) return {};
  in.write.reset();
  TimedRun run;
  run.out = read_all(out.read.get());
  const auto figures = read_all(report.read.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (std::sscanf(figures.c_str(), "%lf %ld %d", &run.wall_ms, &run.max_rss_kib, &run.status) != 3) {
    run.status = -1;
  }
  return run;
}

}  // namespace ktstats::bench
