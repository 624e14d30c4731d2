#include "options.hpp"

#include <sysexits.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include <CLI/CLI.hpp>

#include "ktstats/duration.hpp"

namespace ktstats::relay {
namespace {

// A CLI11 check that the text is a duration ("10s", "500ms").
const CLI::Validator kDuration(
    [](std::string& text) -> std::string {
      return parse_duration(text) ? std::string() : "'" + text + "' is not a duration (10s, 500ms, 2m)";
    },
    "DURATION");

std::chrono::milliseconds duration_of(const std::string& text) { return *parse_duration(text); }

}  // namespace

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine line;
  CLI::App app{
      "Relays scx_stats requests from a virtio-console port to the sched_ext scheduler's\n"
      "stats socket, one response line per request line.",
      "ktstats-relay"};
  app.set_version_flag("--version", std::string("ktstats-relay ") + KTSTATS_VERSION);
  app.get_formatter()->column_width(34);

  std::string port_path, port_name, response_timeout = "10s", wait_port, log_level = "info",
                                    log_target = "stderr";
  int port_fd = -1;
  auto* path_opt = app.add_option("--port", port_path,
                                  "Port device, tty or Unix socket (default: the port named " +
                                      std::string(kDefaultPortName) + ", else " +
                                      std::string(kDefaultPortPath) + ")");
  auto* name_opt = app.add_option("--port-name", port_name,
                                  "Virtio port name to look up in " + std::string(kVirtioPortsDir));
  auto* fd_opt = app.add_option("--port-fd", port_fd, "Inherited descriptor to use as the port")
                     ->check(CLI::NonNegativeNumber);
  path_opt->excludes(name_opt)->excludes(fd_opt);
  name_opt->excludes(fd_opt);
  app.add_option("--socket", line.relay.scheduler_socket, "Scheduler's scx_stats socket")
      ->capture_default_str();
  app.add_option("--response-timeout", response_timeout,
                 "Longest wait for the scheduler's answer to one request")
      ->check(kDuration)
      ->capture_default_str();
  app.add_option("--wait-port", wait_port,
                 "Give up if the port has not appeared after this long (default: wait for ever)")
      ->check(kDuration);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-target", log_target, "stderr, or kmsg for the kernel log")
      ->check(CLI::IsMember({"stderr", "kmsg"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ktstats-relay: %s (see ktstats-relay --help)\n", e.what());
    std::exit(EX_USAGE);
  }

  auto& port = line.relay.port;
  if (!port_path.empty()) {
    port.kind = PortSpec::Kind::kPath;
    port.value = port_path;
  } else if (!port_name.empty()) {
    port.kind = PortSpec::Kind::kName;
    port.value = port_name;
  } else if (port_fd >= 0) {
    port.kind = PortSpec::Kind::kFd;
    port.fd = port_fd;
  }
  line.relay.response_timeout = duration_of(response_timeout);
  if (!wait_port.empty()) line.relay.wait_port = duration_of(wait_port);
  line.log_level = spdlog::level::from_str(log_level);
  line.log_target = log_target == "kmsg" ? LogTarget::kKmsg : LogTarget::kStderr;
  return line;
}

}  // namespace ktstats::relay
