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
// The same, the line being a view valid until the next call on the framer.
using FrameView = std::variant<std::string_view, LineTooLong>;

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
  std::size_t partial_bytes() const { return line_held_ ? 0 : partial_.size(); }
  // Drops the unfinished line and every frame not taken yet.
  void reset();

  // Lines without a copy of each: feed_view() takes bytes that the caller
  // keeps valid until next_view() has returned nothing or keep_unscanned()
  // is called; next_view() frames them one line per call, handing out a view
  // into those bytes or, for a line that came in pieces, into the framer's
  // own storage. A framer is fed through feed() or feed_view(), not both.
  void feed_view(std::string_view bytes);
  std::optional<FrameView> next_view();
  // Bytes fed and not framed yet are copied, before the caller's buffer goes.
  void keep_unscanned();
  bool has_unscanned() const { return !unscanned().empty(); }
  // The last view is of the framer's own storage.
  bool view_is_held() const { return line_held_; }
  // Swaps that line into `storage`, whose room the framer keeps for the next
  // line: a long line is handed on without a copy.
  void take_held_line(std::string& storage);
  // The room the framer keeps for lines in pieces: at most a line's.
  std::size_t held_capacity() const { return partial_.capacity(); }

 private:
  void finish_line(std::string_view tail);
  void take_partial(std::string_view bytes);
  std::optional<LineTooLong> hold_partial(std::string_view bytes);
  std::size_t line_length(std::string_view tail) const;
  std::string_view unscanned() const;
  void consume(std::size_t bytes);
  void release_held();

  std::size_t max_line_;
  std::string partial_;
  bool discarding_ = false;
  std::deque<Frame> ready_;
  // Of feed_view(): the caller's bytes not framed yet, or the framer's copy
  // of them from held_pos_ on; at most one of the two is not empty.
  std::string_view input_;
  std::string held_;
  std::size_t held_pos_ = 0;
  bool line_held_ = false;  // partial_ holds the line last handed out
};

}  // namespace ktstats
