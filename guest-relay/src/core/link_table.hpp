#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/link_id.hpp"
#include "ktstats/line_framer.hpp"

namespace ktstats::relay {

// What the core asks of the I/O layer for a link.
struct LinkCommand {
  enum class Op {
    kConnect,         // connect now; report on_link_connected or on_link_failed
    kConnectOrWait,   // as kConnect, but an absent socket is waited for
                      // (on_link_waiting, then connected or failed later)
    kClose,           // close the connection, or stop waiting for it; no report.
                      // Issued for every explicit session at its close, connected
                      // or not, before its slot may be used again.
  } op;
  LinkId link;

  bool operator==(const LinkCommand&) const = default;
};

// The core's side of each scheduler connection: its state as the I/O layer
// reported it, the bytes it sent not yet framed, the bytes for it not yet
// written, and the commands for the I/O layer not yet taken.
class LinkTable {
 public:
  enum class State { kDisconnected, kConnecting, kWaiting, kConnected };
  struct Link {
    explicit Link(std::size_t max_line) : framer(max_line) {}
    State state = State::kDisconnected;
    bool connect_may_wait = false;  // the pending connect is a kConnectOrWait
    std::string wait_reason;        // what the socket wait is for, once reported
    LineFramer framer;
    std::string output;
    std::size_t output_sent = 0;
    // A request went out on this connection: from then on a line nobody
    // asked for puts it out of step.
    bool carried_request = false;
  };

  explicit LinkTable(std::size_t max_line) : max_line_(max_line) {}

  bool knows(LinkId id) const { return id < links_.size(); }
  Link& at(LinkId id);
  State state(LinkId id) const { return knows(id) ? links_[id].state : State::kDisconnected; }
  bool connecting(LinkId id) const {
    return state(id) == State::kConnecting || state(id) == State::kWaiting;
  }

  void connect(LinkId id, bool may_wait);
  // kClose when the link has a connection or a connect under way.
  void drop(LinkId id);
  void drop_all();
  // Forgets the connection, telling the I/O layer nothing.
  void reset(LinkId id);
  void close(LinkId id);  // kClose whatever the state, and reset

  // Copies `line` and its newline into the link's output.
  void send(LinkId id, std::string_view line);
  std::string_view output(LinkId id) const;
  void output_written(LinkId id, std::size_t bytes);
  // The line sent, when no byte of it was written: it is taken back.
  std::optional<std::string> take_unsent(LinkId id);

  std::vector<LinkCommand> take_commands();
  bool has_commands() const { return !commands_.empty(); }

 private:
  std::size_t max_line_;
  // Indexed by LinkId; grows to the highest slot ever used.
  std::vector<Link> links_;
  std::vector<LinkCommand> commands_;
};

}  // namespace ktstats::relay
