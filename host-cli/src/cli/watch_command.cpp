#include "cli/watch_command.hpp"

#include <poll.h>
#include <sysexits.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include <boost/json/object.hpp>

#include "cli/exit_status.hpp"
#include "cli/stats_output.hpp"
#include "cli/terminal.hpp"
#include "ktstats/terminal_text.hpp"
#include "render/json_text.hpp"
#include "render/render.hpp"
#include "render/watch_screen.hpp"

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

std::string local_time_text() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[64];
  const std::size_t size = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z", &local);
  return std::string(text, size);
}

std::string duration_text(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// Errors that waiting can mend: no scheduler yet (or one restarting), no
// answer in time, a connection refused, lost or not yet there, a relay
// whose queue was full, an answer saying one of these. The others (the
// request rejected, a peer that does not speak scx_stats, an answer over
// the cap) would recur on every sample.
bool worth_retrying(const Error& error) {
  if (const auto* answer = std::get_if<SchedulerError>(&error)) {
    return answer_says_try_again(answer->errno_value);
  }
  return std::holds_alternative<NoScheduler>(error) || std::holds_alternative<Timeout>(error) ||
         std::holds_alternative<Transport>(error) || std::holds_alternative<RelayQueueFull>(error);
}

// The session samples are taken on: one for all samples, opened when
// needed, and opened again after an error that broke it (a late answer must
// not pass for the next one's); the schema is read again after every error,
// as the scheduler may have changed.
class Sampler {
 public:
  Sampler(const Invocation& invocation, const Interrupt& interrupt, bool wants_meta)
      : invocation_(invocation), interrupt_(interrupt), wants_meta_(wants_meta) {}

  Result<boost::json::value> take() {
    if (auto ready = prepare(); !ready) return forget(std::move(ready).error());
    auto payload = client_->call({"stats", invocation_.args}, deadline());
    if (!payload) return forget(std::move(payload).error());
    return payload;
  }

  // The schema of the latest sample; null when the output needs none.
  const StatsMeta* meta() const { return meta_ ? &*meta_ : nullptr; }

 private:
  Deadline deadline() const { return Deadline::after(invocation_.timeout); }

  Status prepare() {
    if (!client_) {
      auto client = StatsClient::open(invocation_.endpoint, invocation_.sync, interrupt_, deadline());
      if (!client) return std::move(client).error();
      client_ = std::move(*client);
    }
    if (wants_meta_ && !meta_) {
      auto payload = client_->call({"stats_meta", {}}, deadline());
      if (!payload) return std::move(payload).error();
      auto meta = parse_stats_meta(*payload);
      if (!meta) return std::move(meta).error();
      meta_ = std::move(*meta);
    }
    return Ok{};
  }

  Error forget(Error error) {
    meta_.reset();
    if (client_ && !session_survives(error)) client_.reset();
    return error;
  }

  // The relay answered with an error line (no scheduler, its timeout, a
  // scheduler that closed), or no answer came in time on a session that
  // finds its place again with a sync point: the session is sound.
  bool session_survives(const Error& error) const {
    if (std::holds_alternative<NoScheduler>(error)) return true;
    if (!client_->resyncs()) return false;
    if (const auto* transport = std::get_if<Transport>(&error)) {
      return !transport->relay_reason.empty();
    }
    return !std::holds_alternative<Cancelled>(error);
  }

  const Invocation& invocation_;
  const Interrupt& interrupt_;
  const bool wants_meta_;
  std::unique_ptr<StatsClient> client_;
  std::optional<StatsMeta> meta_;
};

class Watch {
 public:
  Watch(const Invocation& invocation, const Interrupt& interrupt)
      : invocation_(invocation), interrupt_(interrupt) {}

  // JSON lines (and expositions, formats for machines) stream; pretty and
  // table on a terminal get the live view.
  int run() {
    const bool live = invocation_.format != Format::kJson && !is_exposition(invocation_.format) &&
                      stdout_can_draw();
    return live ? live_view() : stream();
  }

 private:
  bool count_reached(std::uint64_t samples) const {
    return invocation_.count && samples >= *invocation_.count;
  }

  // One sample after another on stdout; each error worth retrying is one
  // line on stderr, and watching goes on.
  int stream() {
    Sampler sampler(invocation_, interrupt_, needs_meta(invocation_.format));
    for (std::uint64_t samples = 0, attempt = 0; !count_reached(samples); ++attempt) {
      if (attempt > 0 && !pause()) return 0;
      auto payload = sampler.take();
      if (!payload) {
        const Error& error = payload.error();
        if (std::holds_alternative<Cancelled>(error)) return 0;
        if (!worth_retrying(error)) return fail(error);
        std::fprintf(stderr, "%s\n", error_line(error, invocation_.endpoint).c_str());
        continue;
      }
      if (int status = print(sample_text(std::move(*payload), sampler.meta())); status != 0) {
        return status;
      }
      ++samples;
    }
    return 0;
  }

  std::string sample_text(boost::json::value payload, const StatsMeta* meta) const {
    const auto stamp = utc_timestamp();
    if (is_exposition(invocation_.format)) return exposition_text(payload, meta);
    if (invocation_.format != Format::kJson) {
      return "# " + stamp + "\n" + render_stats(payload, meta, invocation_);
    }
    boost::json::object line;
    line["timestamp"] = stamp;
    line["stats"] = std::move(payload);
    return to_json_text(line, false);
  }

  // Each sample a whole exposition ending in a "# EOF" line, where a
  // reader splits the stream: OpenMetrics ends with it anyway, and to the
  // Prometheus text format it is a comment. One exposition cannot carry
  // them all: a family's samples must be together.
  std::string exposition_text(const boost::json::value& payload, const StatsMeta* meta) const {
    std::string text = render_stats(payload, meta, invocation_);
    if (invocation_.format == Format::kPrometheus) text += text.empty() ? "# EOF" : "\n# EOF";
    return text;
  }

  // What the live view shows: the latest sample's table, its time, and the
  // session's state.
  struct Screen {
    std::string sample_time = "no sample yet";
    std::string state = "connecting";
    TableModel model;
    std::set<std::string> changed;
    ChangeTracker tracker;
  };

  // The table redrawn in place each interval until q, Ctrl-C or the count;
  // errors worth retrying show in the header. The terminal is given back
  // before anything else is printed.
  int live_view() {
    Sampler sampler(invocation_, interrupt_, true);
    Screen screen;
    std::optional<Error> fatal;
    bool counted_out = false;
    {
      auto opened = TerminalView::open();
      if (!opened) return fail(opened.error());
      TerminalView& terminal = **opened;
      for (std::uint64_t samples = 0;;) {
        auto payload = sampler.take();
        if (!payload && std::holds_alternative<Cancelled>(payload.error())) return 0;
        if (!payload && !worth_retrying(payload.error())) {
          fatal = std::move(payload).error();
          break;
        }
        if (payload) {
          ++samples;
          show_sample(screen, *payload, *sampler.meta());
        } else {
          screen.state = state_of(payload.error());
        }
        if (auto drawn = draw(terminal, screen); !drawn) {
          fatal = std::move(drawn).error();
          break;
        }
        if (count_reached(samples)) {
          counted_out = true;
          break;
        }
        if (!wait_in_view(terminal, screen)) return 0;
      }
    }
    if (fatal) return fail(*fatal);
    // Ended by the count: the last sample stays on the screen.
    if (counted_out) return print(header(screen, false) + "\n\n" + table_text(screen));
    return 0;
  }

  void show_sample(Screen& screen, const boost::json::value& payload, const StatsMeta& meta) const {
    const bool default_target =
        !invocation_.args.contains("target") || invocation_.args.at("target") == "top";
    screen.model = build_table_model(payload, meta, struct_of(payload, meta, default_target));
    screen.changed = screen.tracker.update(screen.model);
    screen.sample_time = local_time_text();
    screen.state = "connected";
  }

  static std::string state_of(const Error& error) {
    if (std::holds_alternative<NoScheduler>(error)) {
      return "waiting for the scheduler: " + describe(error);
    }
    return "retrying: " + describe(error);
  }

  std::string header(const Screen& screen, bool live = true) const {
    return screen.sample_time + "  " + screen.state + "  (" +
           escape_for_terminal(invocation_.endpoint.uri, 200) + ", every " +
           duration_text(invocation_.interval) + (live ? "; q quits)" : ")");
  }

  static std::string table_text(const Screen& screen) {
    std::string out;
    const auto width = window_size(STDOUT_FILENO).value_or(WindowSize{}).columns;
    for (const auto& line : layout_table(screen.model, width)) {
      for (const auto& span : line) out += span.text;
      out += '\n';
    }
    if (!out.empty()) out.pop_back();
    return out;
  }

  Status draw(const TerminalView& terminal, const Screen& screen) const {
    const WindowSize size = terminal.size();
    return terminal.draw(
        compose_frame(header(screen), layout_table(screen.model, size.columns, screen.changed), size));
  }

  // The interval, redrawing on a resize; false on q or Ctrl-C.
  bool wait_in_view(TerminalView& terminal, const Screen& screen) const {
    const auto until = Clock::now() + invocation_.interval;
    for (;;) {
      const auto left = until - Clock::now();
      if (left <= Clock::duration::zero()) return true;
      pollfd fds[3] = {{interrupt_.fd(), POLLIN, 0},
                       {terminal.signal_fd(), POLLIN, 0},
                       {terminal.key_fd(), POLLIN, 0}};
      const int ready = ::poll(fds, terminal.key_fd() < 0 ? 2 : 3, poll_ms(left));
      if (ready < 0 && errno != EINTR) return true;
      if (ready <= 0) continue;
      if (fds[0].revents != 0) return false;
      if (fds[2].revents != 0 && terminal.on_key() == TerminalView::Event::kQuit) return false;
      if (fds[1].revents != 0 && terminal.on_signal() == TerminalView::Event::kRedraw) {
        (void)draw(terminal, screen);
      }
    }
  }

  static int poll_ms(Clock::duration left) {
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
  }

  int fail(const Error& error) const { return report(error, invocation_.endpoint); }

  int print(const std::string& text) const { return print_result(text, invocation_.endpoint); }

  // Waits for the interval; false when interrupted.
  bool pause() const {
    pollfd pfd{interrupt_.fd(), POLLIN, 0};
    const auto until = Clock::now() + invocation_.interval;
    for (;;) {
      const auto left = until - Clock::now();
      if (left <= Clock::duration::zero()) return true;
      const int ready = ::poll(&pfd, 1, poll_ms(left));
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
