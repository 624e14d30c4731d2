#include "options.hpp"

#include <getopt.h>
#include <sysexits.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "ktstats/duration.hpp"

// Parsed with getopt_long rather than CLI11: CLI11 brings iostreams and
// locale support into the static binary, which is most of its size.
namespace ktstats::relay {
namespace {

constexpr const char* kUsage =
    "Usage: ktstats-relay [OPTIONS]\n"
    "\n"
    "Relays scx_stats requests from a virtio-console port to the sched_ext scheduler's\n"
    "stats socket, one response line per request line.\n"
    "\n"
    "Options:\n"
    "  --port PATH               Port device, tty or Unix socket (default: the port\n"
    "                            named org.ktstats.stats, else /dev/vport0p2 while\n"
    "                            it has no name)\n"
    "  --port-name NAME          Virtio port name to look up in /sys/class/virtio-ports\n"
    "  --port-fd N               Inherited descriptor to use as the port\n"
    "  --socket PATH             Scheduler's scx_stats socket\n"
    "                            (default: /var/run/scx/root/stats)\n"
    "  --response-timeout DUR    Longest wait for the scheduler's answer (default: 10s)\n"
    "  --scheduler-wait DUR      How long a request waits for an absent scheduler\n"
    "                            socket to appear (default: 0, answer at once)\n"
    "  --wait-port DUR           Give up if the port has not appeared after this long\n"
    "                            (default: wait for ever)\n"
    "  --max-sessions N          Sessions a host may have open at once, 1 to 1024,\n"
    "                            each with its own scheduler connection (default: 64)\n"
    "  --log-level LEVEL         trace, debug, info, warn, error or off (default: info)\n"
    "  --log-target TARGET       stderr, or kmsg for the kernel log (default: stderr)\n"
    "  --version                 Print the version and exit\n"
    "  -h, --help                Print this help and exit\n";

[[noreturn]] void usage_error(const std::string& why) {
  std::fprintf(stderr, "ktstats-relay: %s (see ktstats-relay --help)\n", why.c_str());
  std::exit(EX_USAGE);
}

std::chrono::milliseconds duration_arg(const char* option, const char* text) {
  std::string why;
  auto duration = parse_duration(text, &why);
  if (!duration) usage_error(std::string("--") + option + ": " + why);
  return *duration;
}

std::size_t max_sessions_arg(const char* text) {
  char* end = nullptr;
  const long sessions = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || sessions < 1 || sessions > 1024) {
    usage_error(std::string("--max-sessions: '") + text + "' is not a number from 1 to 1024");
  }
  return static_cast<std::size_t>(sessions);
}

int fd_arg(const char* text) {
  char* end = nullptr;
  const long fd = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || fd < 0 || fd > 1'000'000) {
    usage_error(std::string("--port-fd: '") + text + "' is not a descriptor number");
  }
  return static_cast<int>(fd);
}

void set_port(PortSpec& port, PortSpec::Kind kind, const char* value) {
  if (port.kind != PortSpec::Kind::kDefault) {
    usage_error("--port, --port-name and --port-fd exclude each other");
  }
  port.kind = kind;
  if (kind == PortSpec::Kind::kFd) {
    port.fd = fd_arg(value);
  } else {
    port.value = value;
  }
}

logger::Level level_arg(const char* text) {
  using logger::Level;
  constexpr std::pair<const char*, Level> kLevels[] = {
      {"trace", Level::kTrace}, {"debug", Level::kDebug}, {"info", Level::kInfo},
      {"warn", Level::kWarn},   {"error", Level::kError}, {"off", Level::kOff},
  };
  for (const auto& [name, level] : kLevels) {
    if (std::strcmp(text, name) == 0) return level;
  }
  usage_error(std::string("--log-level: '") + text + "' is not one of trace, debug, info, warn, error, off");
}

LogTarget target_arg(const char* text) {
  if (std::strcmp(text, "stderr") == 0) return LogTarget::kStderr;
  if (std::strcmp(text, "kmsg") == 0) return LogTarget::kKmsg;
  usage_error(std::string("--log-target: '") + text + "' is not stderr or kmsg");
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv) {
  enum Option {
    kPort = 256, kPortName, kPortFd, kSocket, kResponseTimeout, kSchedulerWait, kWaitPort,
    kMaxSessions, kLogLevel, kLogTarget, kVersion,
  };
  static const option kOptions[] = {
      {"port", required_argument, nullptr, kPort},
      {"port-name", required_argument, nullptr, kPortName},
      {"port-fd", required_argument, nullptr, kPortFd},
      {"socket", required_argument, nullptr, kSocket},
      {"response-timeout", required_argument, nullptr, kResponseTimeout},
      {"scheduler-wait", required_argument, nullptr, kSchedulerWait},
      {"wait-port", required_argument, nullptr, kWaitPort},
      {"max-sessions", required_argument, nullptr, kMaxSessions},
      {"log-level", required_argument, nullptr, kLogLevel},
      {"log-target", required_argument, nullptr, kLogTarget},
      {"version", no_argument, nullptr, kVersion},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };

  CommandLine line;
  opterr = 0;  // our own messages
  for (;;) {
    int index = 0;
    const int option = ::getopt_long(argc, argv, ":h", kOptions, &index);
    if (option == -1) break;
    switch (option) {
      case kPort: set_port(line.relay.port, PortSpec::Kind::kPath, optarg); break;
      case kPortName: set_port(line.relay.port, PortSpec::Kind::kName, optarg); break;
      case kPortFd: set_port(line.relay.port, PortSpec::Kind::kFd, optarg); break;
      case kSocket: line.relay.scheduler_socket = optarg; break;
      case kResponseTimeout:
        line.relay.timing.response_timeout = duration_arg("response-timeout", optarg);
        if (line.relay.timing.response_timeout.count() == 0) {
          usage_error("--response-timeout must be positive");
        }
        break;
      case kSchedulerWait:
        line.relay.timing.scheduler_wait = duration_arg("scheduler-wait", optarg);
        break;
      case kWaitPort: line.relay.wait_port = duration_arg("wait-port", optarg); break;
      case kMaxSessions: line.relay.limits.max_sessions = max_sessions_arg(optarg); break;
      case kLogLevel: line.log_level = level_arg(optarg); break;
      case kLogTarget: line.log_target = target_arg(optarg); break;
      case kVersion:
        std::printf("ktstats-relay %s\n", KTSTATS_VERSION);
        std::exit(0);
      case 'h':
        std::fputs(kUsage, stdout);
        std::exit(0);
      case ':':
        usage_error(std::string(argv[optind - 1]) + " needs a value");
      default:
        usage_error(std::string("unknown option ") + argv[optind - 1]);
    }
  }
  if (optind < argc) usage_error(std::string("unexpected argument '") + argv[optind] + "'");
  return line;
}

}  // namespace ktstats::relay
