#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ktstats/limits.hpp"
#include "ktstats/line_framer.hpp"

namespace ktstats::serve {

using Clock = std::chrono::steady_clock;
using ClientId = std::uint64_t;

struct CoreLimits {
  std::size_t max_clients = 256;
  std::size_t max_line = kMaxLineBytes;
  // Requests of one client waiting, in flight or answered and not yet
  // written out; at it, the client is not read until some go.
  std::size_t max_pending_per_client = 16;
  // Unwritten answer bytes of one client: past the high water it is not
  // read; past the cap (or with no progress for a request timeout) it is
  // dropped, so a client that stops reading costs only itself.
  std::size_t client_output_high_water = 256 * 1024;
  std::size_t client_output_cap = 4 * 1024 * 1024;
  // Unwritten bytes for the VM before requests stay with their clients.
  std::size_t vm_output_high_water = 256 * 1024;
  std::chrono::milliseconds request_timeout{15'000};
};

// Why the VM cannot be reached now: the errno and the words of the answer
// a client's request gets meanwhile.
struct VmFault {
  int errno_value = 0;
  std::string text;
};

// What the relay in the VM speaks, found out by the first open line.
enum class WireMode {
  kUnknown,    // not asked yet on this connection, or its answer not come
  kSessions,   // a session per client
  kOneAtATime, // no sessions (ktstats-relay 0.1, ktstr's relay, socat): one client at a time
};

struct CoreCounters {
  std::uint64_t requests = 0;
  std::uint64_t local_answers = 0;  // refused lines, faults, timeouts
  std::uint64_t stray_lines = 0;    // from the VM, nobody's
  std::uint64_t resyncs = 0;
};

// One VM's share of `ktstats serve`, as pure input -> output: clients
// attach, send bytes and go; the VM connection comes, sends bytes and goes;
// time passes. Out come bytes for the VM, bytes for each client, clients to
// drop, a request to make the VM connection anew, and the next deadline. It
// performs no I/O and calls nothing back, so the event loop is the only
// place things happen.
//
// Each client gets a guest session of its own (docs/PROTOCOL.md), opened at
// its first request and closed when it goes. Every line sent to the VM but a
// select is answered by exactly one line, in order: a FIFO of who gets the
// next line routes the answers. Each client's answers go out in the order
// of its requests, whoever answers them (the VM, or serve itself).
class VmCore {
 public:
  // id_prefix starts every session id, marker and nonce this core sends;
  // by default random, so no id is reused by another core (a VM added
  // again) or another process (serve restarted) while the relay may still
  // hold the old one.
  VmCore(std::string vm_name, CoreLimits limits, std::optional<std::string> id_prefix = std::nullopt);

  // --- inputs ---
  void on_client_attached(Clock::time_point now, ClientId client);
  void on_client_bytes(Clock::time_point now, ClientId client, std::string_view bytes);
  void on_client_gone(Clock::time_point now, ClientId client);
  // The client sent EOF: its lines are answered, then it is dropped.
  void on_client_input_ended(Clock::time_point now, ClientId client);
  void client_output_written(Clock::time_point now, ClientId client, std::size_t bytes);

  void on_vm_connected(Clock::time_point now);
  void on_vm_bytes(Clock::time_point now, std::string_view bytes);
  // The connection ended (or was reset at take_vm_reset()).
  void on_vm_gone(Clock::time_point now, VmFault why);
  // Connecting failed or waits: what requests are answered meanwhile.
  void on_vm_unreachable(VmFault why);
  void vm_output_written(std::size_t bytes);

  void on_time(Clock::time_point now);

  // --- outputs ---
  std::string_view vm_output() const { return vm_output_; }
  std::string_view client_output(ClientId client) const;
  // The event loop reads a client only while this holds: within its
  // bounds, and its lines of the last read all taken.
  bool wants_client_input(ClientId client) const;
  // Clients whose output or wants_client_input() may have changed since
  // the last call (in any order, maybe twice): the event loop writes to
  // and declares the events of these, not of every client.
  std::vector<ClientId> take_changed_clients();
  // Clients the core has finished with: the I/O layer closes them.
  std::vector<ClientId> take_clients_to_drop();
  // The VM stopped answering where no line can mark a fresh start (no
  // sessions): the I/O layer closes the connection and connects again.
  bool take_vm_reset();
  std::optional<Clock::time_point> next_deadline() const;

  // --- state, for logs and tests ---
  const std::string& name() const { return name_; }
  bool vm_connected() const { return connected_; }
  WireMode mode() const { return mode_; }
  std::size_t client_count() const { return clients_.size(); }
  const CoreCounters& counters() const { return counters_; }
  // The relay's name and version from its open echo on this connection:
  // empty until a client's first request asked, and without sessions.
  const std::string& relay() const { return relay_; }
  const std::string& relay_version() const { return relay_version_; }
  std::size_t sessions_open() const {
    if (mode_ != WireMode::kSessions) return 0;
    std::size_t open = 0;
    for (const auto& entry : clients_) open += entry.second.session_id.empty() ? 0 : 1;
    return open;
  }

 private:
  struct Request {
    std::string line;
    std::uint64_t slot;
    Clock::time_point deadline;  // of its wait to be sent
  };
  struct Client {
    explicit Client(std::size_t max_line) : framer(max_line) {}
    LineFramer framer;
    // One slot per request, in order: an answer waits in its slot until
    // those before it have gone out.
    std::deque<std::optional<std::string>> slots;
    std::uint64_t first_slot = 0;
    std::deque<Request> waiting;  // not sent to the VM yet
    std::string output;
    Clock::time_point output_since{};  // pending output last made progress
    std::string session_id;            // the session open for it on the wire, if any
    // Its open refused (the relay's session limit): the requests behind it,
    // answered no_session, get the refusal's answer instead.
    std::string refused_session;
    std::string refusal;
    bool closing = false;              // refused: its answer goes out, then it is dropped
    bool input_ended = false;          // EOF read: dropped once all is answered and written
  };
  // Who gets the next line from the VM.
  struct Expected {
    enum class Kind { kAnswer, kOpenEcho, kDiscard } kind;
    ClientId client = 0;
    std::uint64_t slot = 0;
    std::string id;  // the session (or marker) it concerns
    std::optional<Clock::time_point> deadline;
    bool abandoned = false;  // its client went: the line is dropped
  };

  Client* find(ClientId client);
  const Client* find(ClientId client) const;
  void take_lines(Clock::time_point now, ClientId id);
  bool within_bounds(const Client& client) const;
  void take_client_line(Clock::time_point now, ClientId id, Client& client, Frame frame);
  std::uint64_t new_slot(Client& client);
  void answer(Clock::time_point now, ClientId id, std::uint64_t slot, std::string line);
  void answer_now(Clock::time_point now, ClientId id, Client& client, std::string line);
  void forget(Clock::time_point now, ClientId id);
  void finish(Clock::time_point now);
  void drop(Clock::time_point now, ClientId id, const char* why);
  void drop_if_done(Clock::time_point now, ClientId id);

  void send_requests(Clock::time_point now);
  bool send_one(Clock::time_point now, ClientId id, Client& client);
  std::optional<ClientId> oldest_waiting() const;
  void emit(std::string_view line);
  void expect(Expected expected);

  void take_vm_line(Clock::time_point now, Frame frame);
  bool is_stale_before_probe_answer(const Expected& front, const std::string* line) const;
  void on_open_answer(const Expected& expected, const std::string& line);
  void deliver(Clock::time_point now, const Expected& expected, std::string line);
  void vm_stopped_answering(Clock::time_point now);
  void send_marker(Clock::time_point now);
  void resynced(Clock::time_point now, std::size_t echoed);
  void keep_resyncing(Clock::time_point now);
  Clock::time_point resync_give_up_at() const;
  void fail_everything(Clock::time_point now, const VmFault& why);
  std::optional<VmFault> refusal() const;

  std::string name_;
  CoreLimits limits_;
  std::map<ClientId, Client> clients_;
  std::vector<ClientId> to_drop_;
  std::vector<ClientId> overfull_;
  // Kept up to date as clients change, so that no input walks every client.
  std::set<ClientId> waiting_clients_;  // with requests not sent yet
  std::set<ClientId> with_output_;      // with answers not written yet
  std::vector<ClientId> changed_;       // for take_changed_clients()
  std::vector<ClientId> to_recheck_;    // lines held back may be taken now
  std::string fresh_id(std::string_view kind);
  std::string id_prefix_;
  std::uint64_t next_id_ = 1;  // session ids, markers, nonces

  bool connected_ = false;
  VmFault fault_;
  LineFramer vm_framer_;
  std::string vm_output_;
  std::deque<Expected> fifo_;
  WireMode mode_ = WireMode::kUnknown;
  bool logged_one_at_a_time_ = false;
  // The client whose open asks the relay what it speaks, while unknown;
  // without sessions, the client being served.
  std::optional<ClientId> probe_;
  bool probe_pending_ = false;
  std::optional<ClientId> owner_;
  std::string selected_;  // the session the relay sends requests to, as far as we know
  ClientId last_served_ = 0;
  // After a request went unanswered: opens of fresh marker ids, resent
  // while no echo comes; an echo says everything before it is over.
  bool resyncing_ = false;
  std::vector<std::string> markers_;
  Clock::time_point resync_since_{};
  Clock::time_point marker_due_{};
  std::chrono::milliseconds marker_delay_{};
  bool vm_spoke_while_resyncing_ = false;
  std::vector<std::string> stale_sessions_;
  bool reset_wanted_ = false;
  CoreCounters counters_;
  std::string relay_;
  std::string relay_version_;
};

}  // namespace ktstats::serve
