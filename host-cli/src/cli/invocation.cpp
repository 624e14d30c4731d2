#include "cli/invocation.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/request_arg.hpp"
#include "ktstats/duration.hpp"
#include "wire/request.hpp"
#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

constexpr const char* kConnectVariable = "KTSTATS_CONNECT";

// The request options of stats or watch, as text.
struct RequestText {
  std::vector<std::string> args;
  std::optional<std::string> target;
};

// What the command line gave, as text. CLI11 only collects it; each piece
// is parsed once, below, into the typed Invocation.
struct InvocationText {
  std::optional<std::string> connect;  // absent: the environment's, or the default
  std::string format;
  std::string timeout = "5s";
  std::string interval = "1s";
  RequestText stats;
  RequestText watch;
  std::string raw_line;
  std::vector<std::string> serve_vms;
  std::string request_timeout = "15s";
  std::string metrics_timeout = "5s";
  std::optional<std::string> vms_runtime_dir;
  bool serve_list = false;
};

// One line on stderr naming the option (or variable) at fault, and 64.
[[noreturn]] void usage_error(std::string_view source, const std::string& why,
                              std::string_view hint = "see ktstats --help") {
  std::fprintf(stderr, "ktstats: %.*s: %s (%.*s)\n", static_cast<int>(source.size()),
               source.data(), why.c_str(), static_cast<int>(hint.size()), hint.data());
  std::exit(EX_USAGE);
}

Endpoint endpoint_from(const std::optional<std::string>& option) {
  if (option) {
    std::string why;
    auto endpoint = parse_endpoint(*option, &why);
    if (!endpoint) usage_error("--connect", why);
    return std::move(*endpoint);
  }
  const char* variable = std::getenv(kConnectVariable);
  const std::string_view text = variable != nullptr ? variable : kDefaultConnect;
  std::string why;
  auto endpoint = parse_endpoint(text, &why);
  if (!endpoint) {
    usage_error(kConnectVariable, why, "fix or unset KTSTATS_CONNECT, or pass --connect");
  }
  return std::move(*endpoint);
}

std::chrono::milliseconds positive_duration(std::string_view option, const std::string& text) {
  std::string why;
  auto duration = parse_duration(text, &why);
  if (!duration) usage_error(option, why);
  if (duration->count() == 0) {
    usage_error(option, "'" + escape_for_terminal(text, 200) + "' is not a positive duration");
  }
  return *duration;
}

Format format_from(const std::string& text) {
  if (text.empty()) return ::isatty(STDOUT_FILENO) ? Format::kPretty : Format::kJson;
  static constexpr std::pair<std::string_view, Format> kFormats[] = {
      {"json", Format::kJson},
      {"pretty", Format::kPretty},
      {"table", Format::kTable},
      {"openmetrics", Format::kOpenMetrics},
      {"prometheus", Format::kPrometheus}};
  for (const auto& [name, format] : kFormats) {
    if (text == name) return format;
  }
  usage_error("--format", "'" + escape_for_terminal(text, 200) +
                              "' is not one of json, pretty, table, openmetrics, prometheus");
}

// --arg values, then --target over any target=; the request they make must
// fit the line cap, checked here rather than after connecting.
std::map<std::string, std::string> request_args_from(const RequestText& text) {
  std::map<std::string, std::string> args;
  for (const auto& arg : text.args) {
    std::string why;
    auto pair = parse_request_arg(arg, &why);
    if (!pair) usage_error("--arg", why);
    args.insert_or_assign(std::move(pair->first), std::move(pair->second));
  }
  if (text.target) {
    std::string why;
    auto pair = parse_request_arg("target=" + *text.target, &why);
    if (!pair) usage_error("--target", why);
    if (pair->second.empty()) usage_error("--target", "needs a name, e.g. --target top");
    args.insert_or_assign(std::move(pair->first), std::move(pair->second));
  }
  if (auto line = encode_request({"stats", args}); !line) usage_error("--arg", describe(line.error()));
  return args;
}

// vms: the option's directory, else KTSTATS_RUNTIME_DIR's (as vm:NAME
// finds serve's sockets), else the default.
std::string runtime_dir_from(const std::optional<std::string>& option) {
  if (option) return *option;
  const char* variable = std::getenv(kServeRuntimeDirVariable);
  return variable != nullptr && *variable != '\0' ? variable : kServeRuntimeDir;
}

std::string raw_line_from(const std::string& text) {
  std::string why;
  auto line = parse_raw_line(text, &why);
  if (!line) usage_error("raw LINE", why);
  return std::move(*line);
}

// Options of every subcommand that asks for stats.
void add_request_options(CLI::App& command, RequestText& text) {
  command.add_option("--arg", text.args, "Request argument, repeatable (target=top)")
      ->type_name("KEY=VALUE");
  command.add_option("--target", text.target, "Shorthand for --arg target=NAME")
      ->type_name("NAME");
}

}  // namespace

Invocation parse_invocation(int argc, char** argv) {
  Invocation invocation;
  InvocationText text;
  CLI::App app{"Reads a sched_ext scheduler's scx_stats statistics, in a VM or on this host.",
               "ktstats"};
  app.set_version_flag("--version", std::string("ktstats ") + KTSTATS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.get_formatter()->column_width(30);

  bool no_sync = false;
  app.add_option("-c,--connect", text.connect,
                 "unix:PATH, pty:PATH, tty:PATH, pipe:PATH, scx:PATH or vm:NAME (default: env "
                 "KTSTATS_CONNECT, else scx:/var/run/scx/root/stats)")
      ->type_name("URI");
  app.add_option("-f,--format", text.format,
                 "json, pretty, table, openmetrics or prometheus (default: pretty on a terminal, "
                 "else json)")
      ->type_name("FORMAT");
  app.add_option("-t,--timeout", text.timeout, "Bound on connect, sync and request (at most 24h)")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_flag("-v,--verbose", invocation.verbosity, "More diagnostics; -vv traces the wire");
  app.add_flag("-q,--quiet", invocation.quiet, "Only errors on stderr");
  app.add_flag("--no-sync", no_sync,
               "Do not sync with the relay first (for a socat bridge or ktstr's relay)");

  auto* stats = app.add_subcommand("stats", "Print the scheduler's statistics");
  add_request_options(*stats, text.stats);
  auto* meta = app.add_subcommand("meta", "Print the statistics schema (stats_meta)");
  meta->add_flag("--describe", invocation.describe,
                 "For people: each struct and field with its type and description");
  auto* raw = app.add_subcommand("raw", "Send one request line as given, print the answer line");
  raw->add_option("line", text.raw_line, "The request, e.g. '{\"req\":\"stats\"}'")
      ->type_name("LINE")
      ->required();
  auto* watch = app.add_subcommand("watch", "Print stats every interval on one connection");
  add_request_options(*watch, text.watch);
  watch->add_option("-i,--interval", text.interval, "Time between samples (at most 24h)")
      ->type_name("DURATION")
      ->capture_default_str();
  watch->add_option("-n,--count", invocation.count, "Stop after this many samples")
      ->check(CLI::PositiveNumber);
  auto* ping = app.add_subcommand("ping", "Check the relay: its version and the round-trip time");
  auto* serve = app.add_subcommand(
      "serve", "Give each VM's scheduler a local scx_stats socket, for any number of clients");
  serve->add_flag("--list", text.serve_list,
                  "Show the VMs of the running serve and their state (as ktstats vms), and exit");
  serve->add_option("--vm", text.serve_vms, "VM to serve, repeatable (URI as --connect takes it)")
      ->type_name("NAME=URI");
  serve->add_option("--config", invocation.serve.config,
                    "TOML file of more VMs ([vms] NAME = \"URI\"), read again at SIGHUP")
      ->type_name("FILE");
  serve->add_option("--discover", invocation.serve.discover,
                    "Serve every VMM socket in DIR, named after its file (DIR/NAME[.sock])")
      ->type_name("DIR");
  serve->add_option("--discover-libvirt", invocation.serve.discover_libvirt,
                    "Serve libvirt's org.ktstats.stats channels (ROOT/domain-ID-NAME/), default ROOT " +
                        std::string(serve::kDefaultLibvirtChannelRoot))
      ->type_name("[ROOT]")
      ->expected(0, 1);
  serve->add_option("--runtime-dir", invocation.serve.runtime_dir,
                    "Where the sockets go: DIR/NAME/stats")
      ->type_name("DIR")
      ->capture_default_str();
  serve->add_option("--group", invocation.serve.group,
                    "Group of the sockets (default: ktstats if it exists, else yours)")
      ->type_name("GROUP");
  serve->add_option("--max-clients", invocation.serve.max_clients, "Clients of one VM at once")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  serve->add_option("--request-timeout", text.request_timeout,
                    "Longest wait for the VM's answer (above the relay's own 10s)")
      ->type_name("DURATION")
      ->capture_default_str();
  serve->add_option("--metrics-listen", invocation.serve.metrics_listen,
                    "Serve every VM's stats for Prometheus at http://ADDRESS/metrics (off by default)")
      ->type_name("HOST:PORT");
  serve->add_option("--metrics-web-config", invocation.serve.metrics_web_config,
                    "TLS and basic auth of /metrics (Prometheus exporter-toolkit's web config, YAML)")
      ->type_name("FILE");
  serve->add_option("--metrics-timeout", text.metrics_timeout,
                    "Longest fetch of one VM's stats for /metrics (less when Prometheus' timeout is shorter)")
      ->type_name("DURATION")
      ->capture_default_str();

  auto* vms = app.add_subcommand("vms", "Show the VMs of the running ktstats serve and their state");
  vms->add_option("--runtime-dir", text.vms_runtime_dir,
                  "serve's --runtime-dir (default: env KTSTATS_RUNTIME_DIR, else /run/ktstats)")
      ->type_name("DIR");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ktstats: %s (see ktstats --help)\n",
                 escape_for_terminal(e.what(), 400).c_str());
    std::exit(EX_USAGE);
  }

  const CLI::App* command = app.get_subcommands().front();
  if (command == stats) invocation.command = Command::kStats;
  if (command == meta) invocation.command = Command::kMeta;
  if (command == raw) invocation.command = Command::kRaw;
  if (command == watch) invocation.command = Command::kWatch;
  if (command == ping) invocation.command = Command::kPing;
  if (command == vms || (command == serve && text.serve_list)) {
    invocation.command = Command::kVms;
    const bool runtime_given = command == vms ? text.vms_runtime_dir.has_value()
                                              : serve->get_option("--runtime-dir")->count() > 0;
    invocation.runtime_dir = runtime_dir_from(
        runtime_given && command == serve ? std::optional(invocation.serve.runtime_dir)
                                          : text.vms_runtime_dir);
    invocation.format = format_from(text.format);
    if (invocation.format == Format::kOpenMetrics || invocation.format == Format::kPrometheus) {
      usage_error("--format", "vms prints json, pretty or table");
    }
    invocation.timeout = positive_duration("--timeout", text.timeout);
    return invocation;
  }
  if (command == serve) {
    invocation.command = Command::kServe;
    for (const auto& spec : text.serve_vms) {
      std::string why;
      auto vm = serve::parse_vm_spec(spec, &why);
      if (!vm) usage_error("--vm", why);
      invocation.serve.vms.push_back(std::move(*vm));
    }
    if (invocation.serve.discover_libvirt && invocation.serve.discover_libvirt->empty()) {
      invocation.serve.discover_libvirt = std::string(serve::kDefaultLibvirtChannelRoot);
    }
    if (text.serve_vms.empty() && !invocation.serve.config && !invocation.serve.discover &&
        !invocation.serve.discover_libvirt) {
      usage_error("serve",
                  "needs VMs to serve: --vm NAME=URI, --config FILE, --discover DIR or --discover-libvirt");
    }
    invocation.serve.request_timeout = positive_duration("--request-timeout", text.request_timeout);
    invocation.serve.metrics_timeout = positive_duration("--metrics-timeout", text.metrics_timeout);
    if (invocation.serve.metrics_listen) {
      std::string why;
      if (!serve::is_listen_address(*invocation.serve.metrics_listen, &why)) usage_error("--metrics-listen", why);
    }
    invocation.serve.verbosity = invocation.verbosity;
    invocation.serve.quiet = invocation.quiet;
    return invocation;
  }

  invocation.endpoint = endpoint_from(text.connect);
  invocation.format = format_from(text.format);
  invocation.timeout = positive_duration("--timeout", text.timeout);
  invocation.interval = positive_duration("--interval", text.interval);
  invocation.sync = !no_sync;
  if (command == stats) invocation.args = request_args_from(text.stats);
  if (command == watch) invocation.args = request_args_from(text.watch);
  if (command == raw) invocation.raw_line = raw_line_from(text.raw_line);
  return invocation;
}

}  // namespace ktstats::cli
