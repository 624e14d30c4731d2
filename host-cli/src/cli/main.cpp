// ktstats: reads a sched_ext scheduler's scx_stats statistics, through a
// VM's console port and the guest's ktstats-relay, or from a local socket.
#include "cli/program.hpp"
#include "cli/serve_launcher.hpp"

int main(int argc, char** argv) { return ktstats::cli::program_main(argc, argv, ktstats::cli::exec_serve_daemon); }
