#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "render/render.hpp"
#include "render/table_model.hpp"

namespace ktstats::cli {

struct WindowSize {
  std::size_t columns = 80;
  std::size_t rows = 24;
};

// The values of one sample by path, to mark what the next one changed.
class ChangeTracker {
 public:
  // The paths whose value differs from the previous sample's (new ones
  // included); none on the first sample.
  std::set<std::string> update(const TableModel& model);

 private:
  std::map<std::string, std::string> previous_;
  bool first_ = true;
};

// One frame of the live view, drawn from the top-left corner over the
// previous one: the header line, a blank line, the table; marked spans in
// reverse video; every line cut to the window's width, and lines past its
// height replaced by a note saying how many are hidden. Nothing but the
// escaped text and the view's own sequences reaches the terminal.
std::string compose_frame(const std::string& header, const std::vector<TableLine>& table,
                          const WindowSize& size);

// Sequences that enter and leave the view: the alternate screen, with the
// cursor hidden while in it.
inline constexpr const char* kEnterView = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
inline constexpr const char* kLeaveView = "\x1b[?25h\x1b[?1049l";

}  // namespace ktstats::cli
