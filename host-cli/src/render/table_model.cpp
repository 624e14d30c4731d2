#include "render/table_model.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "ktstats/terminal_text.hpp"
#include "render/render.hpp"

namespace ktstats::cli {
namespace {

constexpr std::size_t kMaxKeyBytes = 64;
constexpr std::size_t kMaxTextBytes = 200;

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
    case boost::json::kind::string: return escape_for_terminal(value.get_string(), kMaxTextBytes);
    case boost::json::kind::array: return value.get_array().empty() ? "[]" : "[...]";
    case boost::json::kind::object: return value.get_object().empty() ? "{}" : "{...}";
  }
  return "";
}

bool is_number(const boost::json::value& value) {
  return value.is_int64() || value.is_uint64() || value.is_double();
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// A named value of a flattened struct.
struct Leaf {
  std::string name;
  TableCell cell;
  std::string desc;
};

class ModelBuilder {
 public:
  explicit ModelBuilder(const StatsMeta& meta) : meta_(meta) {}

  TableModel build(const boost::json::value& payload, const StructMeta* root) {
    model_.sections.push_back({"", {"FIELD", "VALUE", "DESCRIPTION"}, {}, {}});
    std::vector<Leaf> leaves;
    if (root == nullptr && is_collection(payload, nullptr)) {
      add_section(payload, "", nullptr);
    } else if (payload.is_object()) {
      flatten(payload, "", "", root, leaves);
    } else {
      leaves.push_back({"value", {scalar_text(payload), "", is_number(payload)}, ""});
    }
    auto& plain = model_.sections.front();
    for (auto& leaf : leaves) {
      plain.rows.push_back({{leaf.name, "", false},
                            std::move(leaf.cell),
                            {escape_for_terminal(leaf.desc, kMaxTextBytes), "", false}});
    }
    if (plain.rows.empty()) model_.sections.erase(model_.sections.begin());
    return std::move(model_);
  }

 private:
  // The struct of a dict's or array's elements: from the schema, else the
  // one that best covers the first element's keys.
  const StructMeta* element_struct(const FieldMeta* field, const boost::json::value& first) const {
    if (field != nullptr) return inner(field);
    return first.is_object() ? struct_of(first, meta_, false) : nullptr;
  }

  const StructMeta* inner(const FieldMeta* field) const {
    if (field == nullptr || field->datum.type != DatumKind::Type::kStruct) return nullptr;
    return meta_.find(field->datum.struct_name);
  }

  // A dict or array with entries: a section of its own. Without a schema, an
  // array, or an object whose members are all objects (a dict of structs).
  static bool is_collection(const boost::json::value& value, const FieldMeta* field) {
    const auto* object = value.if_object();
    const auto* array = value.if_array();
    if ((object == nullptr || object->empty()) && (array == nullptr || array->empty())) return false;
    if (field != nullptr && field->shape != FieldMeta::Shape::kOther) {
      return field->shape == FieldMeta::Shape::kDict || field->shape == FieldMeta::Shape::kArray;
    }
    if (array != nullptr) return true;
    return std::all_of(object->begin(), object->end(),
                       [](const auto& member) { return member.value().is_object(); });
  }

  // A struct's members as leaves: nested structs flattened with dotted
  // names, dicts and arrays sent to sections of their own.
  void flatten(const boost::json::value& value, const std::string& name_prefix,
               const std::string& path, const StructMeta* shape, std::vector<Leaf>& leaves) {
    for (const auto& [key, member] : value.get_object()) {
      const FieldMeta* field = shape ? shape->field(key) : nullptr;
      const std::string name = join(name_prefix, escape_for_terminal(key, kMaxKeyBytes));
      const std::string member_path = join(path, escape_for_terminal(key, kMaxKeyBytes));
      if (is_collection(member, field)) {
        add_section(member, member_path, field);
      } else if (const auto* object = member.if_object(); object && !object->empty()) {
        flatten(member, name, member_path, inner(field), leaves);
      } else {
        leaves.push_back({name, {scalar_text(member), member_path, is_number(member)},
                          field ? field->desc : ""});
      }
    }
  }

  void add_section(const boost::json::value& value, const std::string& path,
                   const FieldMeta* field) {
    // The slot first: sections nested in this one's rows come after it.
    const std::size_t index = model_.sections.size();
    model_.sections.emplace_back();
    const bool dict = value.is_object();
    const StructMeta* shape = element_struct(
        field, dict ? value.get_object().begin()->value() : value.get_array().front());
    std::vector<std::pair<std::string, std::vector<Leaf>>> entries;
    auto add_entry = [&](std::string key, const boost::json::value& element) {
      const std::string element_path = path + "[" + key + "]";
      std::vector<Leaf> leaves;
      if (const auto* object = element.if_object(); object && !object->empty()) {
        flatten(element, "", element_path, shape, leaves);
      } else {
        // The section's title already carries the field's description.
        leaves.push_back({"value", {scalar_text(element), element_path, is_number(element)}, ""});
      }
      entries.emplace_back(std::move(key), std::move(leaves));
    };
    if (dict) {
      for (const auto& [key, element] : value.get_object()) {
        add_entry(escape_for_terminal(key, kMaxKeyBytes), element);
      }
    } else {
      const auto& array = value.get_array();
      for (std::size_t i = 0; i < array.size(); ++i) add_entry(std::to_string(i), array[i]);
    }
    model_.sections[index] = section_of(title_of(path, field, shape), dict, std::move(entries));
  }

  // The path and the field's description; for the payload itself, its
  // elements' struct.
  static std::string title_of(const std::string& path, const FieldMeta* field,
                              const StructMeta* shape) {
    std::string name = path, desc = field ? field->desc : "";
    if (path.empty()) {
      name = shape ? escape_for_terminal(shape->name, kMaxKeyBytes) : "(items)";
      desc = shape ? shape->desc : "";
    }
    return desc.empty() ? name : name + ": " + escape_for_terminal(desc, kMaxTextBytes);
  }

  static TableSection section_of(std::string title, bool dict,
                                 std::vector<std::pair<std::string, std::vector<Leaf>>> entries) {
    TableSection section;
    section.title = std::move(title);
    // Columns in the order fields first appear, over all rows.
    std::vector<std::string> names;
    for (const auto& [key, leaves] : entries) {
      for (const auto& leaf : leaves) {
        if (std::find(names.begin(), names.end(), leaf.name) != names.end()) continue;
        names.push_back(leaf.name);
        if (!leaf.desc.empty()) {
          section.legend.emplace_back(leaf.name, escape_for_terminal(leaf.desc, kMaxTextBytes));
        }
      }
    }
    section.columns.push_back(dict ? "KEY" : "INDEX");
    section.columns.insert(section.columns.end(), names.begin(), names.end());
    for (auto& [key, leaves] : entries) {
      std::vector<TableCell> row(names.size() + 1);
      row[0].text = key;
      for (auto& leaf : leaves) {
        const auto at = std::find(names.begin(), names.end(), leaf.name) - names.begin();
        row[static_cast<std::size_t>(at) + 1] = std::move(leaf.cell);
      }
      section.rows.push_back(std::move(row));
    }
    return section;
  }

  const StatsMeta& meta_;
  TableModel model_;
};

}  // namespace

TableModel build_table_model(const boost::json::value& payload, const StatsMeta& meta,
                             const StructMeta* root) {
  return ModelBuilder(meta).build(payload, root);
}

}  // namespace ktstats::cli
