#include "core/session_table.hpp"

namespace ktstats::relay {

std::optional<LinkId> SessionTable::find(std::string_view id) const {
  const auto found = ids_.find(id);
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

std::optional<LinkId> SessionTable::open(std::string id) {
  // The limit counts open sessions: one closed by a line read already no
  // longer counts, so an open pipelined behind that close takes its place,
  // as the host sees it. Its slot stays taken until its close's turn, so a
  // few more slots than max_sessions may be taken, bounded by the closes
  // waiting in the queue.
  if (ids_.size() >= max_sessions_) return std::nullopt;
  std::size_t index = 0;
  while (index < taken_slots_.size() && taken_slots_[index] != 0) ++index;
  if (index == taken_slots_.size()) taken_slots_.push_back(0);
  taken_slots_[index] = 1;
  ++taken_;
  const auto link = static_cast<LinkId>(index + 1);
  ids_.emplace(std::move(id), link);
  return link;
}

void SessionTable::close(LinkId link) {
  std::erase_if(ids_, [link](const auto& entry) { return entry.second == link; });
}

void SessionTable::free(LinkId link) {
  if (!is_taken(link)) return;
  close(link);
  taken_slots_[link - 1] = 0;
  --taken_;
}

void SessionTable::clear() {
  ids_.clear();
  taken_slots_.clear();
  taken_ = 0;
}

bool SessionTable::is_taken(LinkId link) const {
  return link != kImplicitLink && link - 1 < taken_slots_.size() && taken_slots_[link - 1] != 0;
}

}  // namespace ktstats::relay
