#include "render/render.hpp"

#include <boost/json/object.hpp>

namespace ktstats::cli {
namespace {

// A piece of a family's key, length first, so that no two different paths
// (whatever bytes their names hold) give the same key.
std::string key_part(std::string_view text) {
  return std::to_string(text.size()) + ":" + std::string(text);
}

MetricValue metric_value(const boost::json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) return value.get_uint64();
  return value.get_double();
}

// Walks a payload along its schema as upstream's script does. A family is
// known by its raw name and the path of fields leading to it, so the same
// field of every entry of a dict (and of every VM running the same
// scheduler) is one family, while two paths are two families even where
// their names sanitise alike.
class StatsMapping {
 public:
  StatsMapping(Exposition& exposition, const StatsMeta& meta) : exposition_(exposition), meta_(meta) {}

  void add_struct(const StructMeta& shape, const boost::json::object& values,
                  const std::vector<MetricLabel>& labels, const std::string& path) {
    for (const auto& field : shape.fields) {
      if (field.om_skip) continue;
      const auto* value = values.if_contains(field.name);
      if (value == nullptr) continue;
      const std::string field_path = path + key_part(field.name);
      if (field.shape == FieldMeta::Shape::kDatum && field.datum.numeric() && value->is_number()) {
        const std::string raw_name = shape.om_prefix + field.name;
        const auto family = exposition_.family(key_part(raw_name) + field_path, raw_name, field.desc);
        exposition_.add(family, labels, metric_value(*value));
      } else if (field.shape == FieldMeta::Shape::kDict &&
                 field.datum.type == DatumKind::Type::kStruct && value->is_object()) {
        add_dict(field, value->get_object(), labels, field_path);
      }
    }
  }

 private:
  void add_dict(const FieldMeta& field, const boost::json::object& entries,
                const std::vector<MetricLabel>& labels, const std::string& path) {
    const StructMeta* inner = meta_.find(field.datum.struct_name);
    // Without a label the entries could not be told apart: upstream refuses too.
    if (inner == nullptr || inner->om_label.empty()) return;
    for (const auto& [key, entry] : entries) {
      if (!entry.is_object()) continue;
      auto nested = labels;
      nested.push_back({inner->om_label, std::string(key)});
      add_struct(*inner, entry.get_object(), nested, path);
    }
  }

  Exposition& exposition_;
  const StatsMeta& meta_;
};

}  // namespace

void add_stats(Exposition& exposition, const boost::json::value& payload, const StatsMeta& meta,
               const StructMeta* root, const std::vector<MetricLabel>& labels) {
  if (root == nullptr || !payload.is_object()) return;
  StatsMapping(exposition, meta).add_struct(*root, payload.get_object(), labels, "");
}

std::string render_exposition(const boost::json::value& payload, const StatsMeta& meta,
                              const StructMeta* root, ExpositionFormat format) {
  Exposition exposition;
  add_stats(exposition, payload, meta, root, {});
  return exposition.text(format);
}

}  // namespace ktstats::cli
