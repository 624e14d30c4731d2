// ktstats-serve: the `ktstats serve` daemon, in an executable of its own so
// that what only it links (TLS, YAML, HTTP) costs the one-shot commands
// nothing. `ktstats serve ...` runs it with the same command line.
#include <sysexits.h>

#include <cstdio>

#include "cli/exit_status.hpp"
#include "cli/program.hpp"
#include "client/interrupt.hpp"
#include "serve/server.hpp"

namespace {

int run_serve_daemon(const ktstats::cli::Invocation& invocation, char** /*argv*/) {
  auto interrupt = ktstats::cli::Interrupt::install();
  if (!interrupt) {
    std::fprintf(stderr, "%s\n", ktstats::cli::error_line(interrupt.error(), invocation.endpoint).c_str());
    return EX_OSERR;
  }
  return ktstats::serve::run_serve(invocation.serve, interrupt->fd());
}

}  // namespace

int main(int argc, char** argv) { return ktstats::cli::program_main(argc, argv, run_serve_daemon); }
