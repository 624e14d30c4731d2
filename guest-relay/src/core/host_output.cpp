#include "core/host_output.hpp"

#include <algorithm>
#include <utility>

namespace ktstats::relay {
namespace {

// Written bytes are erased from the front only once they are many and most
// of the buffer, so a slow host costs no quadratic copying.
constexpr std::size_t kCompactAfter = 64 * 1024;

// `line` and its newline fit in `buffer`'s room, and not in the line's own.
bool fits_in(const std::string& buffer, const std::string& line) {
  return line.capacity() == line.size() && buffer.capacity() > line.size();
}

}  // namespace

void HostOutput::append(std::string line, bool explicit_session) {
  // With nothing waiting, the line becomes the output: a long answer is not
  // copied once more on its way to the port. Unless the output has room
  // and the line has none for its newline: then a copy into the output
  // costs less than regrowing the line.
  if (buffer_.empty() && !fits_in(buffer_, line)) {
    buffer_.swap(line);
  } else {
    buffer_.append(line);
  }
  ended_line(explicit_session);
}

void HostOutput::append_copy(std::string_view line, bool explicit_session) {
  buffer_.append(line);
  ended_line(explicit_session);
}

void HostOutput::ended_line(bool explicit_session) {
  buffer_.push_back('\n');
  if (explicit_session) explicit_end_ = buffer_.size();
}

std::string_view HostOutput::pending() const { return std::string_view(buffer_).substr(sent_); }

void HostOutput::written(std::size_t bytes) {
  bytes = std::min(bytes, pending_bytes());
  if (bytes == 0) return;
  sent_ += bytes;
  mid_line_ = buffer_[sent_ - 1] != '\n';
  if (sent_ == buffer_.size()) {
    buffer_.clear();
    sent_ = 0;
    explicit_end_ = 0;
  } else if (sent_ > kCompactAfter && sent_ * 2 > buffer_.size()) {
    buffer_.erase(0, sent_);
    explicit_end_ = explicit_end_ > sent_ ? explicit_end_ - sent_ : 0;
    sent_ = 0;
  }
}

void HostOutput::discard_for_new_host() {
  const bool mid_line = mid_line_;
  clear();
  if (mid_line) buffer_.push_back('\n');
}

void HostOutput::clear() {
  buffer_.clear();
  sent_ = 0;
  explicit_end_ = 0;
  mid_line_ = false;
}

}  // namespace ktstats::relay
