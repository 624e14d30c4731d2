#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/link_id.hpp"

namespace ktstats::relay {

// The explicit sessions a host has open, by id, and the link slot each
// holds. A closed session keeps its slot until the relay has told the I/O
// layer to close the slot's connection (free()), so two sessions never share
// one connection, not even for a moment.
class SessionTable {
 public:
  explicit SessionTable(std::size_t max_sessions) : max_sessions_(max_sessions) {}

  // The slot of open session `id`.
  std::optional<LinkId> find(std::string_view id) const;
  // Opens `id` on the lowest free slot; nullopt when max_sessions are open.
  std::optional<LinkId> open(std::string id);
  // `id` is no longer open; its slot stays taken until free().
  void close(LinkId link);
  void free(LinkId link);
  void clear();

  std::size_t open_count() const { return ids_.size(); }
  // Slots taken, by open sessions and closed ones not yet freed.
  std::size_t taken() const { return taken_; }
  bool is_taken(LinkId link) const;
  std::size_t max_sessions() const { return max_sessions_; }

 private:
  std::size_t max_sessions_;
  // An ordered map and a byte per slot: the tree code is in the relay
  // already, a hash table and a bit vector would add theirs to its size.
  std::map<std::string, LinkId, std::less<>> ids_;
  // Index link - 1; grows to the highest slot ever taken.
  std::vector<std::uint8_t> taken_slots_;
  std::size_t taken_ = 0;
};

}  // namespace ktstats::relay
