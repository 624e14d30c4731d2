// ktstats-relay: bridges a virtio-console port to a sched_ext scheduler's
// scx_stats socket inside a guest.
#include <sysexits.h>

#include <csignal>
#include <cstdio>

#include "ktstats/error.hpp"
#include "ktstats/standard_fds.hpp"
#include "options.hpp"
#include "relay.hpp"

int main(int argc, char** argv) {
  using namespace ktstats::relay;
  // Before anything is opened: a closed 0, 1 or 2 would otherwise go to
  // the epoll or a socket, and log lines written "to stderr" into it.
  if (auto reserved = ktstats::reserve_standard_fds(); !reserved) {
    std::fprintf(stderr, "ktstats-relay: %s\n", ktstats::describe(reserved.error()).c_str());
    return EX_OSERR;
  }
  // The log goes to stderr or the kernel log, so a hangup has nothing to
  // reopen; it must not end a daemon whose terminal or session went away.
  std::signal(SIGHUP, SIG_IGN);
  const CommandLine command_line = parse_command_line(argc, argv);
  if (auto logging = setup_logging(command_line.log_target, command_line.log_level); !logging) {
    std::fprintf(stderr, "ktstats-relay: %s\n", ktstats::describe(logging.error()).c_str());
    return EX_OSERR;
  }
  auto relay = Relay::create(command_line.relay);
  if (!relay) {
    std::fprintf(stderr, "ktstats-relay: %s\n", ktstats::describe(relay.error()).c_str());
    return EX_UNAVAILABLE;
  }
  if (auto ran = (*relay)->run(); !ran) {
    std::fprintf(stderr, "ktstats-relay: %s\n", ktstats::describe(ran.error()).c_str());
    return EX_UNAVAILABLE;
  }
  return 0;
}
