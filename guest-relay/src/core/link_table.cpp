#include "core/link_table.hpp"

#include <algorithm>
#include <utility>

namespace ktstats::relay {

LinkTable::Link& LinkTable::at(LinkId id) {
  while (links_.size() <= id) links_.emplace_back(max_line_);
  return links_[id];
}

void LinkTable::connect(LinkId id, bool may_wait) {
  Link& link = at(id);
  link.state = State::kConnecting;
  link.connect_may_wait = may_wait;
  commands_.push_back({may_wait ? LinkCommand::Op::kConnectOrWait : LinkCommand::Op::kConnect, id});
}

void LinkTable::drop(LinkId id) {
  if (state(id) != State::kDisconnected) close(id);
}

void LinkTable::drop_all() {
  for (LinkId id = 0; id < links_.size(); ++id) drop(id);
}

// A fresh framer and buffer rather than cleared ones: a long line's
// capacity is not kept for as long as the slot lives.
void LinkTable::reset(LinkId id) {
  Link& link = at(id);
  link.state = State::kDisconnected;
  link.connect_may_wait = false;
  link.wait_reason.clear();
  link.framer = LineFramer(max_line_);
  std::string().swap(link.output);
  link.output_sent = 0;
  link.carried_request = false;
}

void LinkTable::close(LinkId id) {
  commands_.push_back({LinkCommand::Op::kClose, id});
  reset(id);
}

void LinkTable::send(LinkId id, std::string_view line) {
  Link& link = at(id);
  link.carried_request = true;
  link.output.append(line);
  link.output.push_back('\n');
}

std::string_view LinkTable::output(LinkId id) const {
  if (!knows(id)) return {};
  return std::string_view(links_[id].output).substr(links_[id].output_sent);
}

void LinkTable::output_written(LinkId id, std::size_t bytes) {
  if (!knows(id)) return;
  Link& link = links_[id];
  link.output_sent = std::min(link.output.size(), link.output_sent + bytes);
  if (link.output_sent == link.output.size()) {
    link.output.clear();
    link.output_sent = 0;
  }
}

std::optional<std::string> LinkTable::take_unsent(LinkId id) {
  if (!knows(id)) return std::nullopt;
  Link& link = links_[id];
  if (link.output.empty() || link.output_sent != 0) return std::nullopt;
  std::string line = std::exchange(link.output, {});
  line.pop_back();  // the newline send() added
  return line;
}

std::vector<LinkCommand> LinkTable::take_commands() { return std::exchange(commands_, {}); }

}  // namespace ktstats::relay
