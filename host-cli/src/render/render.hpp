#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "render/exposition.hpp"
#include "render/stats_meta.hpp"
#include "render/table_model.hpp"

namespace ktstats::cli {

// The struct a stats payload is an instance of: the top struct for the
// default target, else the struct whose fields best cover the payload's
// keys; nullptr when none fits.
const StructMeta* struct_of(const boost::json::value& payload, const StatsMeta& meta,
                            bool default_target);

// A piece of a table line; a marked one is a value that changed.
struct TableSpan {
  std::string text;
  bool marked = false;
};
using TableLine = std::vector<TableSpan>;

// The model as lines: the plain fields (name, value, description), then
// each dict or array under its title, a row per key and a column per field,
// numbers right-aligned, a legend of the fields' descriptions below. A
// section wider than `width` columns (0: no limit) is split into groups of
// columns, the key column repeated in each. Cells whose path is in `marked`
// are marked.
std::vector<TableLine> layout_table(const TableModel& model, std::size_t width,
                                    const std::set<std::string>& marked = {});

// The table as text (no marks), lines joined with newlines.
std::string render_table(const boost::json::value& payload, const StatsMeta& meta,
                         const StructMeta* root, std::size_t width);

// Columns a text takes on a terminal: one per character (escaped text has
// no controls).
std::size_t display_width(std::string_view text);

// A stats payload's samples, mapped as upstream's scxstats_to_openmetrics.py
// maps them: a gauge per numeric datum named _om_prefix + field, dicts of
// structs add the inner struct's _om_label (keyed by the dict's key),
// _om_skip fields left out. `labels` (such as vm="NAME") come first on
// every sample. Names are made valid and collisions resolved as
// Exposition says.
void add_stats(Exposition& exposition, const boost::json::value& payload, const StatsMeta& meta,
               const StructMeta* root, const std::vector<MetricLabel>& labels);

// One payload as a whole exposition in the given format (OpenMetrics ends
// with "# EOF"), every line ending in a newline.
std::string render_exposition(const boost::json::value& payload, const StatsMeta& meta,
                              const StructMeta* root, ExpositionFormat format);

// The schema for people in the layout of upstream's describe_meta (what a
// Rust scheduler prints for --help-stats): "[Struct] desc", then per field
// "  name (type) : desc" in aligned columns, types as u64, [u64],
// {u64:Struct}; from the top struct down, then the structs it does not reach.
std::string describe_meta(const StatsMeta& meta);

}  // namespace ktstats::cli
