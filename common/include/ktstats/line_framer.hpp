#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ktstats/limits.hpp"

namespace ktstats {

// A line that outgrew the cap. Reported once, as soon as the cap is
// crossed; the rest of the line is discarded up to its newline.
struct LineTooLong {
  std::size_t size;  // bytes of the line seen when the cap was crossed

  bool operator==(const LineTooLong&) const = default;
};

// A complete line without its "\n" (nor a "\r" before it), or the report of
// one that was too long.
using Frame = std::variant<std::string, LineTooLong>;

// Splits a byte stream into lines. Frames come out in stream order and
// partial data is kept until its newline arrives. Memory is bounded: the
// partial line never holds more than max_line bytes (plus a possible "\r"),
// and the frames ready at any time are at most what one feed() carried.
class LineFramer {
 public:
  explicit LineFramer(std::size_t max_line = kMaxLineBytes);

  void feed(std::string_view bytes);
  std::optional<Frame> next();

  bool has_frame() const { return !ready_.empty(); }
  // Bytes held of an unfinished line (0 while discarding one).
  std::size_t partial_bytes() const { return partial_.size(); }
  // Drops the unfinished line and every frame not taken yet.
  void reset();

 private:
  void finish_line(std::string_view tail);
  void take_partial(std::string_view bytes);

  std::size_t max_line_;
  std::string partial_;
  bool discarding_ = false;
  std::deque<Frame> ready_;
};

}  // namespace ktstats
