#include "render/render.hpp"

#include <algorithm>
#include <deque>
#include <set>

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

void describe_struct(const StructMeta& shape, std::string& out) {
  out += escape_for_terminal(shape.name, 64);
  if (shape.top) out += " (top)";
  if (!shape.desc.empty()) out += ": " + escape_for_terminal(shape.desc, 200);
  out += '\n';
  std::size_t name_width = 0, type_width = 0;
  for (const auto& field : shape.fields) {
    name_width = std::max(name_width, escape_for_terminal(field.name, 64).size());
    type_width = std::max(type_width, field.type_text().size());
  }
  for (const auto& field : shape.fields) {
    const auto name = escape_for_terminal(field.name, 64);
    const auto type = field.type_text();
    out += "  " + name + std::string(name_width - name.size() + 2, ' ') + type;
    if (!field.desc.empty()) {
      out += std::string(type_width - type.size() + 2, ' ') + escape_for_terminal(field.desc, 200);
    }
    out += '\n';
  }
}

}  // namespace

std::string describe_meta(const StatsMeta& meta) {
  // The top struct first, then structs in the order fields refer to them,
  // then whatever nothing refers to.
  std::vector<const StructMeta*> order;
  std::set<std::string> seen;
  std::deque<const StructMeta*> pending;
  if (auto top = meta.top()) pending.push_back(*top);
  for (const auto& shape : meta.structs) pending.push_back(&shape);
  while (!pending.empty()) {
    const StructMeta* shape = pending.front();
    pending.pop_front();
    if (!seen.insert(shape->name).second) continue;
    order.push_back(shape);
    std::vector<const StructMeta*> referenced;
    for (const auto& field : shape->fields) {
      if (field.datum.type != DatumKind::Type::kStruct) continue;
      if (const auto* inner = meta.find(field.datum.struct_name)) referenced.push_back(inner);
    }
    pending.insert(pending.begin(), referenced.begin(), referenced.end());
  }
  std::string out;
  for (const auto* shape : order) {
    if (!out.empty()) out += '\n';
    describe_struct(*shape, out);
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace ktstats::cli
