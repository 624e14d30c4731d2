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

void LineFramer::finish_line(std::string_view tail) {
  std::size_t length = partial_.size() + tail.size();
  const bool crlf = tail.empty() ? !partial_.empty() && partial_.back() == '\r'
                                 : tail.back() == '\r';
  if (crlf) --length;
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
  if (discarding_) return;
  // One byte of slack: the line may still end in "\r\n".
  if (partial_.size() + bytes.size() > max_line_ + 1) {
    ready_.emplace_back(LineTooLong{partial_.size() + bytes.size()});
    partial_.clear();
    discarding_ = true;
    return;
  }
  partial_.append(bytes);
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
}

}  // namespace ktstats
