#include "render/watch_screen.hpp"

#include <algorithm>

namespace ktstats::cli {
namespace {

constexpr const char* kReverse = "\x1b[7m";
constexpr const char* kNormal = "\x1b[27m";
constexpr const char* kClearToEnd = "\x1b[K";

// The first `columns` characters of a UTF-8 text.
std::string cut_to(const std::string& text, std::size_t columns) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (seen++ == columns) return text.substr(0, i);
  }
  return text;
}

void append_line(std::string& out, const TableLine& line, std::size_t columns) {
  std::size_t left = columns;
  for (const auto& span : line) {
    if (left == 0) break;
    const std::string text = cut_to(span.text, left);
    left -= display_width(text);
    if (span.marked) {
      out += kReverse + text + kNormal;
    } else {
      out += text;
    }
  }
  // A line that fills the width leaves the cursor on its last character,
  // which clearing would erase.
  if (left > 0) out += kClearToEnd;
}

}  // namespace

std::set<std::string> ChangeTracker::update(const TableModel& model) {
  std::map<std::string, std::string> now;
  for (const auto& section : model.sections) {
    for (const auto& row : section.rows) {
      for (const auto& cell : row) {
        if (!cell.path.empty()) now[cell.path] = cell.text;
      }
    }
  }
  std::set<std::string> changed;
  if (!first_) {
    for (const auto& [path, text] : now) {
      auto before = previous_.find(path);
      if (before == previous_.end() || before->second != text) changed.insert(path);
    }
  }
  first_ = false;
  previous_ = std::move(now);
  return changed;
}

std::string compose_frame(const std::string& header, const std::vector<TableLine>& table,
                          const WindowSize& size) {
  const std::size_t columns = std::max<std::size_t>(size.columns, 1);
  const std::size_t rows = std::max<std::size_t>(size.rows, 1);
  std::vector<TableLine> lines;
  lines.push_back({{header, false}});
  lines.push_back({});
  lines.insert(lines.end(), table.begin(), table.end());
  if (lines.size() > rows) {
    const std::size_t hidden = lines.size() - rows + 1;
    lines.resize(rows - 1);
    lines.push_back({{"... " + std::to_string(hidden) + " more lines: enlarge the window", false}});
  }
  std::string out = "\x1b[H";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    append_line(out, lines[i], columns);
    // No newline after the last line: it would scroll the screen.
    if (i + 1 < lines.size()) out += "\r\n";
  }
  out += "\x1b[J";
  return out;
}

}  // namespace ktstats::cli
