// Drives the relay's protocol with arbitrary host bytes (session lines over
// a few ids among them), events of several scheduler links and the time,
// with a stand-in I/O layer that carries out the core's link commands, and
// checks what must hold whatever happens:
// - the host never gets more lines than it sent lines that are answered;
// - at most one request is in flight: bytes wait for at most one link, and
//   only while a deadline is armed;
// - a link is never connected twice, and a connection exists only on a link
//   that the implicit session or an open (or closing) session holds;
// - the queue, the host output and the links' output stay within bounds;
// - after a sync line with a new nonce nothing of the old implicit session
//   remains: no entry but the echo, no connection but the new early one.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/relay_core.hpp"
#include "ktstats/relay_line.hpp"

namespace {

using ktstats::relay::Clock;
using ktstats::relay::kImplicitLink;
using ktstats::relay::LinkCommand;
using ktstats::relay::LinkId;
using ktstats::relay::RelayCore;
using ktstats::relay::RelayLimits;
using ktstats::relay::RelayTiming;

void require(bool condition) {
  if (!condition) std::abort();
}

constexpr RelayLimits kLimits{.max_line = 64,
                              .max_sessions = 3,
                              .max_queued = 3,
                              .max_queued_bytes = 160,
                              .host_output_high_water = 128,
                              .max_queued_answers = 8};
// Sessions closed but not yet in their close's turn keep their slots on
// top of max_sessions, bounded by the relay's own waiting lines.
constexpr std::size_t kLinks = kLimits.max_sessions + kLimits.max_queued_answers + 2;
constexpr const char* kIds[] = {"a", "b", "c", "d", "e"};

// The I/O layer's view of each link.
enum class Io { kNone, kConnecting, kWaiting, kConnected };

struct Harness {
  explicit Harness(RelayTiming timing) : core(kLimits, timing, "fuzz") {}

  // Carries out the commands; `closed` counts the kClose of each link.
  void carry_out(std::array<int, kLinks>* closed = nullptr) {
    for (const LinkCommand& command : core.take_link_commands()) {
      require(command.link < kLinks);
      Io& link = io[command.link];
      switch (command.op) {
        case LinkCommand::Op::kConnect:
        case LinkCommand::Op::kConnectOrWait:
          require(link == Io::kNone);  // never two connections on one link
          link = Io::kConnecting;
          break;
        case LinkCommand::Op::kClose:
          if (closed) ++(*closed)[command.link];
          link = Io::kNone;
          break;
      }
    }
    for (LinkId id = 0; id < kLinks; ++id) {
      if (io[id] != Io::kNone) require(core.holds_link(id));
    }
  }

  void check_bounds() const {
    require(host_lines_out <= core.counters().requests);
    // Bytes wait for one link at most, and only for a request in flight.
    int pending = 0;
    for (LinkId id = 0; id < kLinks; ++id) {
      if (core.link_output(id).empty()) continue;
      ++pending;
      require(io[id] == Io::kConnected);
      require(core.link_output(id).size() <= kLimits.max_line + 1);
    }
    require(pending <= 1);
    if (pending == 1) require(core.next_deadline().has_value());
    // Requests: each session's bound, plus the one in progress; answers:
    // their bound, plus one line's worth past it, plus requests turned into
    // "closed" answers (counted among the requests already).
    const auto footprint = core.queue_footprint();
    const std::size_t max_entries =
        kLinks * (kLimits.max_queued + 1) + kLimits.max_queued_answers + 1;
    require(footprint.entries <= max_entries);
    require(footprint.bytes <= kLimits.max_queued_bytes + kLimits.max_line + max_entries * 200);
    // The high water, then at most one answer and one error line past it.
    require(core.host_output().size() <= kLimits.host_output_high_water + kLimits.max_line + 512);
    require(core.open_sessions() <= kLimits.max_sessions);
  }

  void host(std::string_view bytes) {
    if (!core.wants_host_input()) return;
    core.on_host_bytes(now, bytes);
  }

  // A sync line after a newline that ends whatever partial line came before.
  void sync(const std::string& nonce) {
    if (!core.wants_host_input()) return;
    const auto replaced = core.counters().sessions_replaced_at_sync;
    const bool was_connected = io[kImplicitLink] != Io::kNone;
    core.on_host_bytes(now, "\n" + ktstats::encode_sync_request(nonce) + "\n");
    if (core.counters().sessions_replaced_at_sync == replaced) return;
    require(core.queue_footprint(kImplicitLink).entries <= 1);  // its echo
    require(core.link_output(kImplicitLink).empty());
    std::array<int, kLinks> closed{};
    carry_out(&closed);
    if (was_connected) require(closed[kImplicitLink] == 1);
    require(io[kImplicitLink] == Io::kNone || io[kImplicitLink] == Io::kConnecting);
  }

  RelayCore core;
  std::array<Io, kLinks> io{};
  Clock::time_point now = Clock::time_point{} + std::chrono::hours(1);
  std::uint64_t host_lines_out = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using std::chrono::milliseconds;
  const RelayTiming timing{.response_timeout = milliseconds(1000),
                           .scheduler_wait = milliseconds(data[0] % 2 ? 300 : 0)};
  Harness h(timing);
  std::size_t i = 1;
  while (i < size) {
    const std::uint8_t op = data[i++];
    const std::size_t length = i < size ? data[i++] % 48 : 0;
    const std::string_view chunk(reinterpret_cast<const char*>(data) + i,
                                 std::min(length, size - i));
    i += chunk.size();
    const LinkId link = static_cast<LinkId>(length % kLinks);
    const std::string id = kIds[length % std::size(kIds)];
    switch (op % 12) {
      case 0:
      case 1:
        h.host(chunk);
        break;
      case 2: {
        const ktstats::ControlLine line =
            length % 3 == 0   ? ktstats::ControlLine{ktstats::OpenLine{id}}
            : length % 3 == 1 ? ktstats::ControlLine{ktstats::SelectLine{id}}
                              : ktstats::ControlLine{ktstats::CloseLine{id}};
        h.host("\n" + ktstats::encode_control_line(line) + "\n");
        break;
      }
      case 3:
        h.host(std::string(chunk) + "\n");
        break;
      case 4:
        // A scheduler answers what it was sent, once it was sent.
        if (h.io[link] == Io::kConnected && h.core.link_output(link).empty()) {
          h.core.on_link_bytes(h.now, link, chunk);
        }
        break;
      case 5:
        if (h.io[link] == Io::kConnected) {
          h.io[link] = Io::kNone;
          h.core.on_link_closed(h.now, link);
        }
        break;
      case 6:
        if (h.io[link] == Io::kConnecting || h.io[link] == Io::kWaiting) {
          switch (op / 12 % 3) {
            case 0:
              h.io[link] = Io::kConnected;
              h.core.on_link_connected(h.now, link);
              break;
            case 1:
              h.io[link] = Io::kNone;
              h.core.on_link_failed(h.now, link, "refused");
              break;
            default:
              if (h.io[link] == Io::kConnecting) {
                h.io[link] = Io::kWaiting;
                h.core.on_link_waiting(link, "no socket");
              }
              break;
          }
        }
        break;
      case 7:
        h.now += milliseconds(length * 50);
        h.core.on_time(h.now);
        break;
      case 8: {
        const auto out = h.core.host_output();
        const std::size_t take = std::min<std::size_t>(out.size(), length * 4);
        for (char c : out.substr(0, take)) h.host_lines_out += c == '\n';
        h.core.host_output_written(h.now, take);
        break;
      }
      case 9:
        for (LinkId each = 0; each < kLinks; ++each) {
          const auto out = h.core.link_output(each);
          h.core.link_output_written(each, std::min(out.size(), length + 1));
        }
        break;
      case 10:
        h.core.on_host_gone();
        h.carry_out();
        require(h.core.idle());
        require(h.core.open_sessions() == 0);
        for (Io state : h.io) require(state == Io::kNone);
        break;
      case 11:
        h.sync(kIds[length % 3]);
        break;
    }
    h.carry_out();
    h.check_bounds();
  }
  return 0;
}
