#pragma once

#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "render/stats_meta.hpp"

namespace ktstats::cli {

// One cell of a table. Text from the guest is already escaped.
struct TableCell {
  std::string text;
  // The value's path (layers[batch].util), the same in every sample, so a
  // live view can tell which values changed; empty for labels.
  std::string path;
  bool numeric = false;
};

// A block of a table: the plain fields (columns FIELD, VALUE, DESCRIPTION),
// or one dict or array (a row per key, a column per field of its struct).
struct TableSection {
  std::string title;  // empty for the plain fields
  std::vector<std::string> columns;
  std::vector<std::vector<TableCell>> rows;
  std::vector<std::pair<std::string, std::string>> legend;  // column, its description
};

struct TableModel {
  std::vector<TableSection> sections;
};

// A stats payload as tables: the plain fields first, structs within them
// flattened (inner.field), then a section per dict or array, in payload
// order, those nested in a row after their parent's.
TableModel build_table_model(const boost::json::value& payload, const StatsMeta& meta,
                             const StructMeta* root);

}  // namespace ktstats::cli
