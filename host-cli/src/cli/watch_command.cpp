#include "cli/watch_command.hpp"

#include <poll.h>
#include <sysexits.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include <boost/json/object.hpp>

#include "cli/exit_status.hpp"
#include "cli/stats_output.hpp"
#include "render/json_text.hpp"

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

class Watch {
 public:
  Watch(const Invocation& invocation, const Interrupt& interrupt)
      : invocation_(invocation), interrupt_(interrupt) {}

  int run() {
    auto client = StatsClient::open(invocation_.endpoint, invocation_.sync, interrupt_,
                                    Deadline::after(invocation_.timeout));
    if (!client) return fail(client.error());
    auto meta_result = meta_for_output(**client, invocation_);
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
        text = render_stats(*payload, &*meta, invocation_);
      } else if (invocation_.format != Format::kJson) {
        text = "# " + stamp + "\n" + render_stats(*payload, meta ? &*meta : nullptr, invocation_);
      } else {
        boost::json::object line;
        line["timestamp"] = stamp;
        line["stats"] = std::move(*payload);
        text = to_json_text(line, false);
      }
      if (int status = print(text); status != 0) return status;
    }
    return 0;
  }

 private:
  int fail(const Error& error) const {
    std::fprintf(stderr, "%s\n", error_line(error, invocation_.endpoint).c_str());
    return exit_status(error);
  }

  // A failed write (a closed pipe) is an I/O error.
  int print(const std::string& text) const {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fputc('\n', stdout) == EOF || std::fflush(stdout) != 0) {
      if (errno == EPIPE) return EX_IOERR;
      return fail(Transport{"write to stdout", errno});
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

  const Invocation& invocation_;
  const Interrupt& interrupt_;
};

}  // namespace

int run_watch(const Invocation& invocation, const Interrupt& interrupt) {
  return Watch(invocation, interrupt).run();
}

}  // namespace ktstats::cli
