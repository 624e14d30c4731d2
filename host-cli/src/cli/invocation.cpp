#include "cli/invocation.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "ktstats/duration.hpp"
#include "cli/request_arg.hpp"

namespace ktstats::cli {
namespace {

const CLI::Validator kDuration(
    [](std::string& text) -> std::string {
      auto duration = parse_duration(text);
      if (!duration || duration->count() == 0) {
        return "'" + text + "' is not a positive duration (5s, 500ms, 1m)";
      }
      return {};
    },
    "DURATION");

const CLI::Validator kEndpoint(
    [](std::string& text) -> std::string {
      std::string why;
      return parse_endpoint(text, &why) ? std::string() : why;
    },
    "URI");

const CLI::Validator kKeyValue(
    [](std::string& text) -> std::string {
      std::string why;
      return parse_request_arg(text, &why) ? std::string() : why;
    },
    "KEY=VALUE");

// Options of every subcommand that asks for stats.
struct StatsOptions {
  std::vector<std::string> args;
  std::string target;

  void add_to(CLI::App& command) {
    command.add_option("--arg", args, "Request argument, repeatable (target=top)")
        ->check(kKeyValue)
        ->type_name("KEY=VALUE");
    command.add_option("--target", target, "Shorthand for --arg target=NAME");
  }

  std::map<std::string, std::string> to_args() const {
    std::map<std::string, std::string> map;
    for (const auto& arg : args) {
      if (auto pair = parse_request_arg(arg)) map[pair->first] = pair->second;
    }
    if (!target.empty()) map["target"] = target;
    return map;
  }
};

}  // namespace

Invocation parse_invocation(int argc, char** argv) {
  Invocation invocation;
  CLI::App app{"Reads a sched_ext scheduler's scx_stats statistics, in a VM or on this host.",
               "ktstats"};
  app.set_version_flag("--version", std::string("ktstats ") + KTSTATS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.get_formatter()->column_width(30);

  const char* env_connect = std::getenv("KTSTATS_CONNECT");
  std::string connect = env_connect != nullptr ? env_connect : std::string(kDefaultConnect);
  std::string format, timeout = "5s", interval = "1s";
  bool no_sync = false;
  app.add_option("-c,--connect", connect,
                 "unix:PATH, pty:PATH, tty:PATH, pipe:PATH or scx:PATH (env KTSTATS_CONNECT)")
      ->check(kEndpoint)
      ->capture_default_str();
  app.add_option("-f,--format", format,
                 "json, pretty, table or openmetrics (default: pretty on a terminal, else json)")
      ->check(CLI::IsMember({"json", "pretty", "table", "openmetrics"}));
  app.add_option("-t,--timeout", timeout, "Bound on connect, sync and request")
      ->check(kDuration)
      ->capture_default_str();
  app.add_flag("-v,--verbose", invocation.verbosity, "More diagnostics; -vv traces the wire");
  app.add_flag("-q,--quiet", invocation.quiet, "Only errors on stderr");
  app.add_flag("--no-sync", no_sync,
               "Do not sync with the relay first (for a socat bridge or ktstr's relay)");

  StatsOptions stats_options, watch_options;
  auto* stats = app.add_subcommand("stats", "Print the scheduler's statistics");
  stats_options.add_to(*stats);
  auto* meta = app.add_subcommand("meta", "Print the statistics schema (stats_meta)");
  meta->add_flag("--describe", invocation.describe,
                 "For people: each struct and field with its type and description");
  auto* raw = app.add_subcommand("raw", "Send one request line as given, print the answer line");
  raw->add_option("line", invocation.raw_line, "The request, e.g. '{\"req\":\"stats\"}'")->required();
  auto* watch = app.add_subcommand("watch", "Print stats every interval on one connection");
  watch_options.add_to(*watch);
  watch->add_option("-i,--interval", interval, "Time between samples")
      ->check(kDuration)
      ->capture_default_str();
  watch->add_option("-n,--count", invocation.count, "Stop after this many samples")
      ->check(CLI::PositiveNumber);
  app.add_subcommand("ping", "Check the relay: its version and the round-trip time");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ktstats: %s (see ktstats --help)\n", e.what());
    std::exit(EX_USAGE);
  }

  const std::string name = app.get_subcommands().front()->get_name();
  if (name == "stats") invocation.command = Command::kStats;
  if (name == "meta") invocation.command = Command::kMeta;
  if (name == "raw") invocation.command = Command::kRaw;
  if (name == "watch") invocation.command = Command::kWatch;
  if (name == "ping") invocation.command = Command::kPing;
  invocation.args = name == "watch" ? watch_options.to_args() : stats_options.to_args();
  invocation.endpoint = *parse_endpoint(connect);
  invocation.timeout = *parse_duration(timeout);
  invocation.interval = *parse_duration(interval);
  invocation.sync = !no_sync;
  if (format.empty()) {
    invocation.format = ::isatty(STDOUT_FILENO) ? Format::kPretty : Format::kJson;
  } else if (format == "pretty") {
    invocation.format = Format::kPretty;
  } else if (format == "table") {
    invocation.format = Format::kTable;
  } else if (format == "openmetrics") {
    invocation.format = Format::kOpenMetrics;
  } else {
    invocation.format = Format::kJson;
  }
  return invocation;
}

}  // namespace ktstats::cli
