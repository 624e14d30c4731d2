#include "cli/program.hpp"

#include <sysexits.h>

#include <cstdio>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "client/interrupt.hpp"
#include "ktstats/standard_fds.hpp"

namespace ktstats::cli {
namespace {

void setup_logging(const Invocation& invocation) {
  auto logger = spdlog::stderr_logger_st("ktstats");
  logger->set_pattern("ktstats: %l: %v");
  if (invocation.quiet) {
    logger->set_level(spdlog::level::err);
  } else if (invocation.verbosity >= 2) {
    logger->set_level(spdlog::level::trace);
  } else if (invocation.verbosity == 1) {
    logger->set_level(spdlog::level::debug);
  } else {
    logger->set_level(spdlog::level::warn);
  }
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

int program_main(int argc, char** argv, ServeEntry serve) {
  // Before anything opens a descriptor: a socket given number 1 would
  // receive the output meant for stdout.
  const auto closed = reserve_standard_fds();
  if (!closed) {
    std::fprintf(stderr, "ktstats: %s\n", describe(closed.error()).c_str());
    return EX_OSERR;
  }
  if (closed->output) {
    std::fprintf(stderr,
                 "ktstats: standard output is closed, so the answer could go nowhere; nothing was "
                 "sent (give ktstats an open stdout: a terminal, a file, a pipe or /dev/null)\n");
    return EX_IOERR;
  }
  const Invocation invocation = parse_invocation(argc, argv);
  setup_logging(invocation);
  // Before the interrupt handler blocks the stop signals: an executable
  // started from here would inherit the mask.
  if (invocation.command == Command::kServe) return serve(invocation, argv);
  auto interrupt = Interrupt::install();
  if (!interrupt) {
    std::fprintf(stderr, "%s\n", error_line(interrupt.error(), invocation.endpoint).c_str());
    return EX_OSERR;
  }
  return run_command(invocation, *interrupt);
}

}  // namespace ktstats::cli
