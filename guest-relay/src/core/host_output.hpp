#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ktstats::relay {

// The lines for the host that the port has not taken yet. Remembers whether
// the port was left in the middle of a line, and whether any line of an
// explicit session is still unsent, so that a new host on the implicit
// session can be spared the old one's answers without taking another
// session's.
class HostOutput {
 public:
  // Appends `line` and its newline. `explicit_session`: the line belongs to
  // an explicit session or to none (not to the implicit session).
  void append(std::string line, bool explicit_session);
  void append_copy(std::string_view line, bool explicit_session);
  // With nothing unsent: `swap_in(buffer)` swaps a line into the (empty)
  // buffer, taking its room in exchange, and the newline is appended.
  template <typename SwapIn>
  void adopt(SwapIn swap_in, bool explicit_session) {
    swap_in(buffer_);
    ended_line(explicit_session);
  }
  std::string_view pending() const;
  void written(std::size_t bytes);
  std::size_t pending_bytes() const { return buffer_.size() - sent_; }
  bool empty() const { return buffer_.empty(); }

  // Every unsent byte is the implicit session's.
  bool only_implicit_pending() const { return explicit_end_ <= sent_; }
  // Drops what is unsent, for a new host. A line the port was given part
  // of is ended, so the next line starts one of its own.
  void discard_for_new_host();
  // Drops everything, the host being gone.
  void clear();

 private:
  void ended_line(bool explicit_session);

  std::string buffer_;
  std::size_t sent_ = 0;
  // Past the last byte of an explicit session's line; 0 when none is unsent.
  std::size_t explicit_end_ = 0;
  // The port has been given part of a line and not its newline.
  bool mid_line_ = false;
};

}  // namespace ktstats::relay
