#include "cli/commands.hpp"

#include <poll.h>
#include <sysexits.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "cli/exit_status.hpp"
#include "cli/stats_output.hpp"
#include "cli/vms_command.hpp"
#include "cli/watch_command.hpp"
#include "render/json_text.hpp"
#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"
#include "wire/response.hpp"
#include "ktstats/terminal_text.hpp"
#include "render/render.hpp"
#include "client/stats_client.hpp"

namespace ktstats::cli {
namespace {

// True when a raw answer is an scx_stats envelope whose errno is not 0.
bool reports_an_errno(const boost::json::value& answer) {
  const auto* object = answer.if_object();
  const auto* errno_value = object == nullptr ? nullptr : object->if_contains("errno");
  if (errno_value == nullptr) return false;
  switch (errno_value->kind()) {
    case boost::json::kind::int64: return errno_value->get_int64() != 0;
    case boost::json::kind::uint64: return errno_value->get_uint64() != 0;
    case boost::json::kind::double_: return errno_value->get_double() != 0;
    default: return false;
  }
}

class Runner {
 public:
  Runner(const Invocation& invocation, const Interrupt& interrupt)
      : invocation_(invocation), interrupt_(interrupt) {}

  int run() {
    switch (invocation_.command) {
      case Command::kStats: return stats();
      case Command::kMeta: return meta();
      case Command::kRaw: return raw();
      case Command::kWatch: return run_watch(invocation_, interrupt_);
      case Command::kPing: return ping();
      // Its own executable's: program_main() hands it over before this.
      case Command::kServe: return EX_SOFTWARE;
      case Command::kVms: return run_vms(invocation_, interrupt_);
    }
    return EX_SOFTWARE;
  }

 private:
  int fail(const Error& error) const { return report(error, invocation_.endpoint); }

  int print(const std::string& text) const { return print_result(text, invocation_.endpoint); }

  // JSON for json, pretty, and output that is not stats (ping, raw).
  std::string render(const boost::json::value& value) const {
    return to_json_text(value, invocation_.format != Format::kJson);
  }

  Result<std::unique_ptr<StatsClient>> connect() const {
    return StatsClient::open(invocation_.endpoint, invocation_.sync, interrupt_,
                             Deadline::after(invocation_.timeout));
  }

  int stats() {
    auto client = connect();
    if (!client) return fail(client.error());
    auto meta = meta_for_output(**client, invocation_);
    if (!meta) return fail(meta.error());
    auto payload = (*client)->call({"stats", invocation_.args}, Deadline::after(invocation_.timeout));
    if (!payload) return fail(payload.error());
    return print(render_stats(*payload, *meta ? &**meta : nullptr, invocation_));
  }

  int meta() {
    auto client = connect();
    if (!client) return fail(client.error());
    auto payload = (*client)->call({"stats_meta", {}}, Deadline::after(invocation_.timeout));
    if (!payload) return fail(payload.error());
    if (!invocation_.describe && !needs_meta(invocation_.format)) return print(render(*payload));
    auto meta = parse_stats_meta(*payload);
    if (!meta) return fail(meta.error());
    return print(describe_meta(*meta));
  }

  int raw() {
    const auto deadline = Deadline::after(invocation_.timeout);
    auto client = connect();
    if (!client) return fail(client.error());
    auto answer = (*client)->exchange(invocation_.raw_line, deadline);
    if (!answer) return fail(answer.error());
    auto parsed = parse_json_line(*answer);
    if (!parsed) return fail(parsed.error());
    if (auto error = relay_line_error(*parsed)) return fail(std::move(*error));
    // Printed as it came; an answer carrying an errno still fails, as stats does.
    if (int status = print(render(*parsed)); status != 0) return status;
    return reports_an_errno(*parsed) ? EX_DATAERR : 0;
  }

  int ping() {
    if (!invocation_.endpoint.through_relay()) {
      std::fprintf(stderr,
                   "ktstats: ping checks a relay, and scx: talks to the scheduler directly "
                   "(use --connect unix:PATH, pty:PATH or pipe:PATH)\n");
      return EX_USAGE;
    }
    const auto deadline = Deadline::after(invocation_.timeout);
    auto client = connect();
    if (!client) return fail(client.error());
    const auto start = Clock::now();
    auto reply = (*client)->sync(deadline);
    if (!reply) return fail(reply.error());
    const double rtt_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (invocation_.format == Format::kPretty) {
      char rtt[32];
      std::snprintf(rtt, sizeof rtt, "%.3f ms", rtt_ms);
      const std::string name =
          reply->relay.empty() ? "unnamed relay" : escape_for_terminal(reply->relay, 64);
      const std::string limit =
          reply->max_sessions ? " (" + std::to_string(*reply->max_sessions) + " sessions at most)"
                              : "";
      return print(name + " " + escape_for_terminal(reply->version, 64) + limit + " via " +
                   escape_for_terminal(invocation_.endpoint.uri) + ": " + rtt);
    }
    boost::json::object line;
    // The name the relay's echo gives; null when it names none.
    line["relay"] = reply->relay.empty() ? boost::json::value() : boost::json::value(reply->relay);
    line["version"] = reply->version;
    // Null from a relay without sessions, or with sync off (a sync line asks).
    line["max_sessions"] =
        reply->max_sessions ? boost::json::value(*reply->max_sessions) : boost::json::value();
    line["rtt_ms"] = rtt_ms;
    return print(render(line));
  }

  const Invocation& invocation_;
  const Interrupt& interrupt_;
};

}  // namespace

int run_command(const Invocation& invocation, const Interrupt& interrupt) {
  return Runner(invocation, interrupt).run();
}

}  // namespace ktstats::cli
