#include "render/render.hpp"

#include <algorithm>

#include <boost/json/object.hpp>

namespace ktstats::cli {
namespace {

constexpr const char* kGap = "  ";

std::string spaces(std::size_t n) { return std::string(n, ' '); }

// Column widths and alignment of a section: numbers right-aligned, the
// first column (names, keys) always left.
struct Columns {
  std::vector<std::size_t> width;
  std::vector<bool> right;
};

Columns measure(const TableSection& section) {
  Columns columns;
  const std::size_t count = section.columns.size();
  columns.width.assign(count, 0);
  columns.right.assign(count, false);
  std::vector<bool> all_numeric(count, true), any_value(count, false);
  for (std::size_t c = 0; c < count; ++c) columns.width[c] = display_width(section.columns[c]);
  for (const auto& row : section.rows) {
    for (std::size_t c = 0; c < count && c < row.size(); ++c) {
      columns.width[c] = std::max(columns.width[c], display_width(row[c].text));
      if (row[c].text.empty()) continue;
      any_value[c] = true;
      all_numeric[c] = all_numeric[c] && row[c].numeric;
    }
  }
  for (std::size_t c = 1; c < count; ++c) columns.right[c] = any_value[c] && all_numeric[c];
  return columns;
}

// One line of the chosen columns; the last one unpadded when left-aligned,
// so no line ends in spaces.
TableLine line_of(const std::vector<TableCell>& cells, const std::vector<std::size_t>& chosen,
                  const Columns& columns, const std::set<std::string>& marked) {
  TableLine line;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const std::size_t c = chosen[i];
    const TableCell empty;
    const TableCell& cell = c < cells.size() ? cells[c] : empty;
    const std::size_t pad = columns.width[c] - std::min(columns.width[c], display_width(cell.text));
    const bool last = i + 1 == chosen.size();
    if (i > 0) line.push_back({kGap, false});
    if (columns.right[c]) line.push_back({spaces(pad), false});
    line.push_back({cell.text, !cell.path.empty() && marked.contains(cell.path)});
    if (!columns.right[c] && !last) line.push_back({spaces(pad), false});
  }
  // Trailing empty cells would leave spaces at the end.
  while (!line.empty() && line.back().text.find_first_not_of(' ') == std::string::npos) {
    line.pop_back();
  }
  return line;
}

std::vector<TableCell> header_cells(const TableSection& section) {
  std::vector<TableCell> cells;
  for (const auto& name : section.columns) cells.push_back({name, "", false});
  return cells;
}

// Groups of columns that fit the width, each led by the first column.
std::vector<std::vector<std::size_t>> column_groups(const Columns& columns, std::size_t width) {
  std::vector<std::vector<std::size_t>> groups;
  const std::size_t count = columns.width.size();
  std::size_t c = 1;
  do {
    std::vector<std::size_t> group{0};
    std::size_t used = columns.width[0];
    while (c < count) {
      const std::size_t need = used + 2 + columns.width[c];
      if (width != 0 && need > width && group.size() > 1) break;
      group.push_back(c++);
      used = need;
    }
    groups.push_back(std::move(group));
  } while (c < count);
  return groups;
}

void lay_out_plain(const TableSection& section, const std::set<std::string>& marked,
                   std::vector<TableLine>& out) {
  Columns columns = measure(section);
  // Values of all kinds share the column: all left-aligned.
  columns.right.assign(columns.right.size(), false);
  const std::vector<std::size_t> all{0, 1, 2};
  out.push_back(line_of(header_cells(section), all, columns, marked));
  for (const auto& row : section.rows) out.push_back(line_of(row, all, columns, marked));
}

void lay_out_sub_table(const TableSection& section, std::size_t width,
                       const std::set<std::string>& marked, std::vector<TableLine>& out) {
  const Columns columns = measure(section);
  const auto groups = column_groups(columns, width);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g > 0) out.push_back({});
    out.push_back({{section.title + (g > 0 ? " (continued)" : ""), false}});
    out.push_back(line_of(header_cells(section), groups[g], columns, marked));
    for (const auto& row : section.rows) out.push_back(line_of(row, groups[g], columns, marked));
  }
  std::size_t name_width = 0;
  for (const auto& [name, desc] : section.legend) name_width = std::max(name_width, display_width(name));
  for (const auto& [name, desc] : section.legend) {
    out.push_back({{"  " + name + spaces(name_width - display_width(name)) + kGap + desc, false}});
  }
}

}  // namespace

std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::vector<TableLine> layout_table(const TableModel& model, std::size_t width,
                                    const std::set<std::string>& marked) {
  std::vector<TableLine> out;
  for (const auto& section : model.sections) {
    if (!out.empty()) out.push_back({});
    if (section.title.empty()) {
      lay_out_plain(section, marked, out);
    } else {
      lay_out_sub_table(section, width, marked, out);
    }
  }
  return out;
}

std::string render_table(const boost::json::value& payload, const StatsMeta& meta,
                         const StructMeta* root, std::size_t width) {
  std::string out;
  for (const auto& line : layout_table(build_table_model(payload, meta, root), width)) {
    for (const auto& span : line) out += span.text;
    out += '\n';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

const StructMeta* struct_of(const boost::json::value& payload, const StatsMeta& meta,
                            bool default_target) {
  if (default_target) {
    if (auto top = meta.top()) return *top;
  }
  const auto* object = payload.if_object();
  if (object == nullptr) return nullptr;
  const StructMeta* best = nullptr;
  std::size_t best_hits = 0;
  for (const auto& candidate : meta.structs) {
    std::size_t hits = 0;
    for (const auto& [key, value] : *object) hits += candidate.field(key) != nullptr;
    if (hits > best_hits) {
      best = &candidate;
      best_hits = hits;
    }
  }
  return best;
}

}  // namespace ktstats::cli
