#include "core/work_queue.hpp"

#include <utility>

namespace ktstats::relay {
namespace {

constexpr std::size_t kSpareRoom = 4096;

}  // namespace

void WorkQueue::push_request(LinkId link, std::string line) {
  if (waiting_by_link_.size() <= link) waiting_by_link_.resize(link + 1, 0);
  ++waiting_by_link_[link];
  waiting_bytes_ += line.size();
  entries_.push_back({WorkEntry::Kind::kRequest, link, std::move(line)});
}

void WorkQueue::push_request(LinkId link, std::string_view line) {
  std::string copy = std::move(spare_);
  copy.assign(line);
  push_request(link, std::move(copy));
}

void WorkQueue::push_answer(LinkId owner, std::string line) {
  if (!entries_.empty()) {
    WorkEntry& last = entries_.back();
    if (last.kind == WorkEntry::Kind::kAnswer && last.link == owner && last.line == line) {
      ++last.repeat;
      return;
    }
  }
  entries_.push_back({WorkEntry::Kind::kAnswer, owner, std::move(line)});
  ++answers_;
}

void WorkQueue::push_close(LinkId link, std::string id) {
  entries_.push_back({WorkEntry::Kind::kClose, link, std::move(id)});
  ++answers_;
}

void WorkQueue::start_front() {
  unqueue(entries_.front());
  front_started_ = true;
}

void WorkQueue::pop_front() {
  WorkEntry& front = entries_.front();
  if (!front_started_) unqueue(front);
  front_started_ = false;
  // Only the room of a request of common size is kept.
  if (front.kind == WorkEntry::Kind::kRequest && front.line.capacity() <= kSpareRoom &&
      front.line.capacity() > spare_.capacity()) {
    spare_ = std::move(front.line);
  }
  entries_.pop_front();
}

void WorkQueue::erase_waiting_of(LinkId link) {
  const WorkEntry* started = front_started_ ? &entries_.front() : nullptr;
  std::erase_if(entries_, [this, link, started](const WorkEntry& entry) {
    if (entry.link != link || &entry == started) return false;
    unqueue(entry);
    return true;
  });
}

void WorkQueue::clear() {
  entries_.clear();
  front_started_ = false;
  waiting_by_link_.clear();
  waiting_bytes_ = 0;
  answers_ = 0;
}

std::size_t WorkQueue::waiting_requests(LinkId link) const {
  return link < waiting_by_link_.size() ? waiting_by_link_[link] : 0;
}

void WorkQueue::unqueue(const WorkEntry& entry) {
  if (entry.kind == WorkEntry::Kind::kRequest) {
    --waiting_by_link_[entry.link];
    waiting_bytes_ -= entry.line.size();
  } else {
    --answers_;
  }
}

}  // namespace ktstats::relay
