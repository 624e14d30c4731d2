#include "cli/commands.hpp"

#include <poll.h>
#include <sysexits.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "cli/exit_status.hpp"
#include "render/json_text.hpp"
#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"
#include "ktstats/response.hpp"
#include "ktstats/terminal_text.hpp"
#include "render/render.hpp"
#include "client/stats_client.hpp"

namespace ktstats::cli {
namespace {

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms.count()));
  return text;
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
      case Command::kWatch: return watch();
      case Command::kPing: return ping();
    }
    return EX_SOFTWARE;
  }

 private:
  int fail(const Error& error) const {
    std::fprintf(stderr, "%s\n", error_line(error, invocation_.endpoint).c_str());
    return exit_status(error);
  }

  // The result, on stdout; a failed write (a closed pipe) is an I/O error.
  int print(const std::string& text) const {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fputc('\n', stdout) == EOF || std::fflush(stdout) != 0) {
      if (errno == EPIPE) return EX_IOERR;
      return fail(Transport{"write to stdout", errno});
    }
    return 0;
  }

  // JSON for json, pretty, and output that is not stats (ping, raw).
  std::string render(const boost::json::value& value) const {
    return to_json_text(value, invocation_.format != Format::kJson);
  }

  bool needs_meta() const {
    return invocation_.format == Format::kTable || invocation_.format == Format::kOpenMetrics;
  }

  // Table and OpenMetrics output read the schema first, on the same
  // session; other formats need none (nullopt).
  Result<std::optional<StatsMeta>> meta_for_output(StatsClient& client) const {
    if (!needs_meta()) return std::optional<StatsMeta>();
    auto payload = client.call({"stats_meta", {}}, Deadline::after(invocation_.timeout));
    if (!payload) return std::move(payload).error();
    auto meta = parse_stats_meta(*payload);
    if (!meta) return std::move(meta).error();
    return std::optional<StatsMeta>(std::move(*meta));
  }

  std::string render_stats(const boost::json::value& payload, const StatsMeta* meta) const {
    if (meta == nullptr) return render(payload);
    const bool default_target = !invocation_.args.contains("target") ||
                                invocation_.args.at("target") == "top";
    const StructMeta* root = struct_of(payload, *meta, default_target);
    if (invocation_.format == Format::kTable) return render_table(payload, *meta, root);
    return render_openmetrics(payload, *meta, root);
  }

  Result<std::unique_ptr<StatsClient>> connect() const {
    return StatsClient::open(invocation_.endpoint, invocation_.sync, interrupt_,
                             Deadline::after(invocation_.timeout));
  }

  int stats() {
    auto client = connect();
    if (!client) return fail(client.error());
    auto meta = meta_for_output(**client);
    if (!meta) return fail(meta.error());
    auto payload = (*client)->call({"stats", invocation_.args}, Deadline::after(invocation_.timeout));
    if (!payload) return fail(payload.error());
    return print(render_stats(*payload, *meta ? &**meta : nullptr));
  }

  int meta() {
    auto client = connect();
    if (!client) return fail(client.error());
    auto payload = (*client)->call({"stats_meta", {}}, Deadline::after(invocation_.timeout));
    if (!payload) return fail(payload.error());
    if (!invocation_.describe && !needs_meta()) return print(render(*payload));
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
    if (auto reason = relay_error_reason(*parsed)) return fail(NoScheduler{*reason});
    return print(render(*parsed));
  }

  int watch() {
    auto client = connect();
    if (!client) return fail(client.error());
    auto meta_result = meta_for_output(**client);
    if (!meta_result) return fail(meta_result.error());
    const std::optional<StatsMeta>& meta = *meta_result;
    const Request request{"stats", invocation_.args};
    for (std::uint64_t sample = 0; !invocation_.count || sample < *invocation_.count; ++sample) {
      if (sample > 0 && !pause(invocation_.interval)) return 0;
      auto payload = (*client)->call(request, Deadline::after(invocation_.timeout));
      if (!payload) {
        if (std::holds_alternative<Cancelled>(payload.error())) return 0;
        // A scheduler restarting in the guest: say so and keep watching.
        if (std::holds_alternative<NoScheduler>(payload.error())) {
          std::fprintf(stderr, "%s\n", error_line(payload.error(), invocation_.endpoint).c_str());
          continue;
        }
        return fail(payload.error());
      }
      const auto stamp = utc_timestamp();
      std::string text;
      if (invocation_.format == Format::kOpenMetrics) {
        text = render_stats(*payload, &*meta);
      } else if (invocation_.format != Format::kJson) {
        text = "# " + stamp + "\n" + render_stats(*payload, meta ? &*meta : nullptr);
      } else {
        boost::json::object line;
        line["timestamp"] = stamp;
        line["stats"] = std::move(*payload);
        text = render(line);
      }
      if (int status = print(text); status != 0) return status;
    }
    return 0;
  }

  // Waits for the interval; false when interrupted.
  bool pause(std::chrono::milliseconds interval) const {
    pollfd pfd{interrupt_.fd(), POLLIN, 0};
    const auto until = Clock::now() + interval;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return true;
      const int ready = ::poll(&pfd, 1, static_cast<int>(left));
      if (ready > 0) return false;
      if (ready < 0 && errno != EINTR) return true;
    }
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
      return print("ktstats-relay " + escape_for_terminal(reply->version, 64) + " via " +
                   escape_for_terminal(invocation_.endpoint.uri) + ": " + rtt);
    }
    boost::json::object line;
    line["relay"] = "ktstats-relay";
    line["version"] = reply->version;
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
