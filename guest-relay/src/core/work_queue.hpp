#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/link_id.hpp"

namespace ktstats::relay {

// One entry of the host's lines in the order they came, across sessions.
struct WorkEntry {
  enum class Kind {
    kRequest,  // a request for the link's scheduler connection
    kAnswer,   // a line of the relay's own, `repeat` times
    kClose,    // the end of the link's session; `line` is its id
  } kind;
  // The session the entry is for; kNoLink for an answer about a session
  // that is not open.
  LinkId link;
  std::string line;  // without newline
  std::uint64_t repeat = 1;
};

inline constexpr LinkId kNoLink = ~LinkId{0};

// The FIFO the relay serves strictly in order, with the counts its bounds
// are checked against. The front may be started (a request in progress):
// it then no longer counts as waiting.
class WorkQueue {
 public:
  bool empty() const { return entries_.empty(); }
  WorkEntry& front() { return entries_.front(); }
  const WorkEntry& front() const { return entries_.front(); }
  bool front_started() const { return front_started_; }

  void push_request(LinkId link, std::string line);
  // The same, the line copied into the room of one served before.
  void push_request(LinkId link, std::string_view line);
  // A run of the same answer for the same owner is one entry, so a host
  // that keeps sending what is refused costs no memory.
  void push_answer(LinkId owner, std::string line);
  void push_close(LinkId link, std::string id);

  void start_front();
  void pop_front();
  // Drops the waiting entries of `link` (not a started front).
  void erase_waiting_of(LinkId link);
  void clear();

  std::size_t waiting_requests(LinkId link) const;
  std::size_t waiting_request_bytes() const { return waiting_bytes_; }
  // Answer and close entries.
  std::size_t answers() const { return answers_; }
  template <typename Visit>
  void for_each(Visit visit) const {
    for (const WorkEntry& entry : entries_) visit(entry);
  }

 private:
  void unqueue(const WorkEntry& entry);

  std::deque<WorkEntry> entries_;
  // The room of a request served, for the next one's copy.
  std::string spare_;
  bool front_started_ = false;
  std::vector<std::size_t> waiting_by_link_;  // indexed by LinkId
  std::size_t waiting_bytes_ = 0;
  std::size_t answers_ = 0;
};

}  // namespace ktstats::relay
