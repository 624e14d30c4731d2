// bench_spawn: runs a command and reports its wall time, peak RSS and exit
// status on descriptor 3 as "WALL_MS MAX_RSS_KIB STATUS".
//
// A process's peak RSS as wait4() reports it includes the memory of the
// program it exec()ed from, so the measuring parent must be small: this
// one, not the benchmark driver.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(3);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDERR_FILENO);
    ::execvp(argv[1], argv + 1);
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::FILE* report = ::fdopen(3, "w");
  if (report == nullptr) return 70;
  std::fprintf(report, "%.3f %ld %d\n", wall_ms, usage.ru_maxrss, code);
  return std::fclose(report) == 0 ? 0 : 74;
}
