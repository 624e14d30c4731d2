// Drives the relay's request pipeline with arbitrary host bytes, scheduler
// bytes and events, and checks what must hold whatever happens: the host
// never gets more answers than it sent requests, the scheduler gets at most
// one request in flight, memory stays within the limits, and a sync line
// with a new nonce leaves nothing of the old session for the new host.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ktstats/relay_line.hpp"
#include "core/relay_core.hpp"

namespace {

using ktstats::relay::RelayCore;
using ktstats::relay::RelayEffects;
using ktstats::relay::RelayLimits;

void require(bool condition) {
  if (!condition) std::abort();
}

struct Effects : RelayEffects {
  std::uint8_t connect_mode = 0;
  bool connected = false;
  bool waiting = false;
  bool timer = false;
  std::uint64_t sent = 0;

  Connect connect_scheduler(bool may_wait) override {
    require(!connected && !waiting);
    switch (connect_mode % 3) {
      case 0: connected = true; return {Connect::Outcome::kConnected, {}};
      case 1: return {Connect::Outcome::kFailed, "no scheduler"};
      default:
        if (!may_wait) return {Connect::Outcome::kFailed, "no scheduler yet"};
        waiting = true;
        return {Connect::Outcome::kWaiting, {}};
    }
  }
  void send_to_scheduler(std::string_view line) override {
    require(connected);
    require(line.find('\n') == std::string_view::npos);
    ++sent;
  }
  void close_scheduler() override { connected = waiting = false; }
  void start_response_timer() override { timer = true; }
  void stop_response_timer() override { timer = false; }
};

constexpr const char* kNonces[] = {"a", "b", "c"};

// A sync line, after a newline that ends whatever partial line came before.
// If it started a new session, the host's output holds only the echo (after
// the newline that ends a line cut short), and nothing is in flight.
void sync_with(RelayCore& core, const Effects& effects, const std::string& nonce) {
  const auto replaced = core.counters().sessions_replaced_at_sync;
  core.on_host_bytes("\n" + ktstats::encode_sync_request(nonce) + "\n");
  if (core.counters().sessions_replaced_at_sync == replaced) return;
  std::string_view out = core.host_output();
  if (!out.empty() && out.front() == '\n') out.remove_prefix(1);
  require(out == ktstats::encode_sync_reply({nonce, "fuzz"}) + "\n");
  require(!effects.timer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const RelayLimits limits{.max_line = 64, .max_queued = 4, .max_queued_bytes = 160,
                           .host_output_high_water = 128};
  Effects effects;
  RelayCore core(effects, limits, "fuzz");
  std::uint64_t host_lines_out = 0;
  std::size_t i = 0;
  while (i < size) {
    const std::uint8_t op = data[i++];
    const std::size_t length = i < size ? data[i++] % 48 : 0;
    const std::string_view chunk(reinterpret_cast<const char*>(data) + i,
                                 std::min(length, size - i));
    i += chunk.size();
    switch (op % 10) {
      case 0:
      case 1:
        if (core.wants_host_input()) core.on_host_bytes(chunk);
        break;
      case 2:
        if (effects.connected) core.on_scheduler_bytes(chunk);
        break;
      case 3:
        if (effects.connected) {
          effects.connected = false;
          core.on_scheduler_closed();
        }
        break;
      case 4:
        if (effects.timer) core.on_response_timeout("1s");
        break;
      case 5: {
        const auto out = core.host_output();
        const std::size_t take = std::min<std::size_t>(out.size(), length * 4);
        for (char c : out.substr(0, take)) host_lines_out += c == '\n';
        core.host_output_written(take);
        break;
      }
      case 6:
        core.end_session();
        require(core.idle());
        break;
      case 7:
        if (effects.waiting) {
          effects.waiting = false;
          if (length % 2 == 0) {
            effects.connected = true;
            core.on_scheduler_connected();
          } else {
            core.on_scheduler_unavailable("gone");
          }
        }
        break;
      case 8:
        effects.connect_mode = static_cast<std::uint8_t>(length);
        break;
      case 9:
        if (core.wants_host_input()) sync_with(core, effects, kNonces[length % 3]);
        break;
    }
    // Bounded output: the high water plus one answer line and one error.
    require(core.host_output().size() <= limits.host_output_high_water + 2 * limits.max_line + 256);
    require(host_lines_out <= core.counters().requests);
  }
  return 0;
}
