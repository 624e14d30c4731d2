#include "render/render.hpp"

#include <algorithm>
#include <deque>
#include <set>

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

constexpr std::size_t kShownNameBytes = 64;
constexpr std::size_t kShownDescBytes = 200;

// A field's type in upstream's notation: u64, [u64], {u64:DomainStats}.
std::string upstream_type(const FieldMeta& field) {
  switch (field.shape) {
    case FieldMeta::Shape::kDatum: return field.datum.text();
    case FieldMeta::Shape::kArray: return "[" + field.datum.text() + "]";
    case FieldMeta::Shape::kDict: return "{" + field.key.text() + ":" + field.datum.text() + "}";
    case FieldMeta::Shape::kOther: break;
  }
  return "?";
}

std::string padded(std::string text, std::size_t width) {
  const auto used = display_width(text);
  if (used < width) text.append(width - used, ' ');
  return text;
}

// The structs to describe: the top one first, then depth first the structs
// its fields hold, in field order, as upstream's describe_meta visits them;
// then whatever the top does not reach (another target's payload may be one).
std::vector<const StructMeta*> description_order(const StatsMeta& meta) {
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
    std::vector<const StructMeta*> held;
    for (const auto& field : shape->fields) {
      if (field.datum.type != DatumKind::Type::kStruct) continue;
      if (const auto* inner = meta.find(field.datum.struct_name)) held.push_back(inner);
    }
    pending.insert(pending.begin(), held.begin(), held.end());
  }
  return order;
}

// Column widths shared by every struct, as upstream computes them.
struct Widths {
  std::size_t struct_name = 0;
  std::size_t field_name = 0;
  std::size_t type = 0;  // with its parentheses
};

Widths widths_of(const std::vector<const StructMeta*>& order) {
  Widths widths;
  for (const auto* shape : order) {
    widths.struct_name =
        std::max(widths.struct_name, display_width(escape_for_terminal(shape->name, kShownNameBytes)));
    for (const auto& field : shape->fields) {
      widths.field_name = std::max(
          widths.field_name, display_width(escape_for_terminal(field.name, kShownNameBytes)));
      widths.type = std::max(widths.type, display_width(upstream_type(field)) + 2);
    }
  }
  return widths;
}

// "[Name] desc", then "  field (type) : desc" per field. Upstream pads a
// field without a description to the full width; trailing blanks are left
// out here.
void describe_struct(const StructMeta& shape, const Widths& widths, std::string& out) {
  out += "[" + padded(escape_for_terminal(shape.name, kShownNameBytes), widths.struct_name) + "]";
  if (!shape.desc.empty()) out += " " + escape_for_terminal(shape.desc, kShownDescBytes);
  out += '\n';
  for (const auto& field : shape.fields) {
    std::string line = "  " + padded(escape_for_terminal(field.name, kShownNameBytes), widths.field_name);
    line += " " + padded("(" + upstream_type(field) + ")", widths.type);
    if (!field.desc.empty()) line += " : " + escape_for_terminal(field.desc, kShownDescBytes);
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
}

}  // namespace

std::string describe_meta(const StatsMeta& meta) {
  const auto order = description_order(meta);
  const auto widths = widths_of(order);
  std::string out;
  for (const auto* shape : order) {
    if (!out.empty()) out += '\n';
    describe_struct(*shape, widths, out);
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace ktstats::cli
