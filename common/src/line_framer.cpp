#include "ktstats/line_framer.hpp"

namespace ktstats {

LineFramer::LineFramer(std::size_t max_line) : max_line_(max_line) {}

void LineFramer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      take_partial(bytes);
      return;
    }
    if (discarding_) {
      discarding_ = false;  // the oversize line ends here
    } else {
      finish_line(bytes.substr(0, newline));
    }
    bytes.remove_prefix(newline + 1);
  }
}

// The length of the line that `tail` ends, without a "\r" before its newline.
std::size_t LineFramer::line_length(std::string_view tail) const {
  const std::size_t length = partial_.size() + tail.size();
  const bool crlf = tail.empty() ? !partial_.empty() && partial_.back() == '\r'
                                 : tail.back() == '\r';
  return crlf ? length - 1 : length;
}

void LineFramer::finish_line(std::string_view tail) {
  const std::size_t length = line_length(tail);
  if (length > max_line_) {
    ready_.emplace_back(LineTooLong{length});
  } else if (partial_.empty()) {
    ready_.emplace_back(std::string(tail.substr(0, length)));
  } else {
    partial_.append(tail);
    partial_.resize(length);
    const std::size_t capacity = partial_.capacity();
    ready_.emplace_back(std::move(partial_));
    // Streams of long lines keep long lines coming: start the next one with
    // room for it instead of regrowing (and copying) it from nothing.
    partial_ = std::string();
    partial_.reserve(capacity);
  }
  partial_.clear();
}

void LineFramer::take_partial(std::string_view bytes) {
  if (auto too_long = hold_partial(bytes)) ready_.emplace_back(*too_long);
}

std::optional<LineTooLong> LineFramer::hold_partial(std::string_view bytes) {
  if (discarding_) return std::nullopt;
  // One byte of slack: the line may still end in "\r\n".
  if (partial_.size() + bytes.size() > max_line_ + 1) {
    const LineTooLong too_long{partial_.size() + bytes.size()};
    partial_.clear();
    discarding_ = true;
    return too_long;
  }
  partial_.append(bytes);
  return std::nullopt;
}

std::optional<Frame> LineFramer::next() {
  if (ready_.empty()) return std::nullopt;
  Frame frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

void LineFramer::reset() {
  partial_.clear();
  discarding_ = false;
  ready_.clear();
  input_ = {};
  std::string().swap(held_);
  held_pos_ = 0;
  line_held_ = false;
}

void LineFramer::feed_view(std::string_view bytes) {
  if (unscanned().empty()) {
    release_held();
    input_ = bytes;
    return;
  }
  keep_unscanned();
  held_.erase(0, held_pos_);
  held_pos_ = 0;
  held_.append(bytes);
}

std::optional<FrameView> LineFramer::next_view() {
  if (line_held_) {
    partial_.clear();
    line_held_ = false;
  }
  release_held();
  for (std::string_view bytes = unscanned(); !bytes.empty(); bytes = unscanned()) {
    const std::size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      consume(bytes.size());
      if (auto too_long = hold_partial(bytes)) return *too_long;
      return std::nullopt;
    }
    const std::string_view tail = bytes.substr(0, newline);
    consume(newline + 1);
    if (discarding_) {
      discarding_ = false;  // the oversize line ends here
      continue;
    }
    const std::size_t length = line_length(tail);
    if (length > max_line_) {
      partial_.clear();
      return LineTooLong{length};
    }
    if (partial_.empty()) return tail.substr(0, length);
    partial_.append(tail);
    partial_.resize(length);
    line_held_ = true;
    return std::string_view(partial_);
  }
  return std::nullopt;
}

void LineFramer::keep_unscanned() {
  if (input_.empty()) return;
  held_.assign(input_);
  held_pos_ = 0;
  input_ = {};
}

void LineFramer::take_held_line(std::string& storage) {
  if (!line_held_) return;
  storage.swap(partial_);
  partial_.clear();
  // The room taken in exchange may be far larger than a line (an output
  // that grew under a backlog): kept, it would stay with this framer.
  if (partial_.capacity() > max_line_ + 1) std::string().swap(partial_);
  line_held_ = false;
}

std::string_view LineFramer::unscanned() const {
  if (!input_.empty()) return input_;
  return std::string_view(held_).substr(held_pos_);
}

void LineFramer::consume(std::size_t bytes) {
  if (!input_.empty()) {
    input_.remove_prefix(bytes);
  } else {
    held_pos_ += bytes;
  }
}

// Held bytes are let go once all are framed (and no view of them is out):
// they are there only while the reader was stopped, which is rare, and may
// be a whole read.
void LineFramer::release_held() {
  if (held_pos_ == 0 || held_pos_ < held_.size()) return;
  std::string().swap(held_);
  held_pos_ = 0;
}

}  // namespace ktstats
