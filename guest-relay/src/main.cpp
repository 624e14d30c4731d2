// ktstats-relay: bridges a virtio-console port to a sched_ext scheduler's
// scx_stats socket inside a guest.
#include <sysexits.h>

#include <cstdio>

#include "ktstats/error.hpp"
#include "options.hpp"
#include "relay.hpp"

int main(int argc, char** argv) {
  using namespace ktstats::relay;
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
