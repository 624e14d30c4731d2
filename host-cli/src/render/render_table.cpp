#include "render/render.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include <boost/json/object.hpp>

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

struct Row {
  std::string path;
  std::string value;
  std::string desc;
};

std::string scalar_text(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return value.get_bool() ? "true" : "false";
    case boost::json::kind::int64: return std::to_string(value.get_int64());
    case boost::json::kind::uint64: return std::to_string(value.get_uint64());
    case boost::json::kind::double_: {
      char buffer[32];
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.get_double());
      return std::string(buffer, end);
    }
    case boost::json::kind::string: return escape_for_terminal(value.get_string(), 200);
    case boost::json::kind::array: return value.get_array().empty() ? "[]" : "[...]";
    case boost::json::kind::object: return value.get_object().empty() ? "{}" : "{...}";
  }
  return "";
}

class TableBuilder {
 public:
  explicit TableBuilder(const StatsMeta& meta) : meta_(meta) {}

  void walk(const boost::json::value& value, const std::string& path, const StructMeta* shape,
            const std::string& desc) {
    if (const auto* object = value.if_object(); object && !object->empty()) {
      for (const auto& [key, member] : *object) {
        const std::string child = join(path, escape_for_terminal(key, 64));
        const FieldMeta* field = shape ? shape->field(key) : nullptr;
        if (field == nullptr) {
          walk(member, child, nullptr, "");
        } else {
          walk_field(member, child, *field);
        }
      }
      return;
    }
    if (const auto* array = value.if_array(); array && !array->empty()) {
      for (std::size_t i = 0; i < array->size(); ++i) {
        walk((*array)[i], path + "[" + std::to_string(i) + "]", shape, desc);
      }
      return;
    }
    rows_.push_back({path, scalar_text(value), escape_for_terminal(desc, 200)});
  }

  std::string text() const {
    std::size_t path_width = 4, value_width = 5;
    for (const auto& row : rows_) {
      path_width = std::max(path_width, row.path.size());
      value_width = std::max(value_width, row.value.size());
    }
    std::string out;
    auto line = [&](const std::string& path, const std::string& value, const std::string& desc) {
      out += path + std::string(path_width - path.size() + 2, ' ');
      out += value;
      if (!desc.empty()) out += std::string(value_width - value.size() + 2, ' ') + desc;
      out += '\n';
    };
    line("PATH", "VALUE", "DESCRIPTION");
    for (const auto& row : rows_) line(row.path, row.value, row.desc);
    out.pop_back();
    return out;
  }

 private:
  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  const StructMeta* inner(const FieldMeta& field) const {
    return field.datum.type == DatumKind::Type::kStruct ? meta_.find(field.datum.struct_name)
                                                        : nullptr;
  }

  void walk_field(const boost::json::value& value, const std::string& path,
                  const FieldMeta& field) {
    const auto* object = value.if_object();
    if (field.shape == FieldMeta::Shape::kDict && object != nullptr && !object->empty()) {
      for (const auto& [key, member] : *object) {
        walk(member, path + "[" + escape_for_terminal(key, 64) + "]", inner(field), field.desc);
      }
      return;
    }
    walk(value, path, inner(field), field.desc);
  }

  const StatsMeta& meta_;
  std::vector<Row> rows_;
};

}  // namespace

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

std::string render_table(const boost::json::value& payload, const StatsMeta& meta,
                         const StructMeta* root) {
  TableBuilder builder(meta);
  builder.walk(payload, "", root, "");
  return builder.text();
}

}  // namespace ktstats::cli
