#include "render/stats_meta.hpp"

#include <boost/json/object.hpp>

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

DatumKind parse_kind(const boost::json::value& value) {
  DatumKind kind;
  if (const auto* text = value.if_string()) {
    if (*text == "i64") kind.type = DatumKind::Type::kI64;
    else if (*text == "u64") kind.type = DatumKind::Type::kU64;
    else if (*text == "float") kind.type = DatumKind::Type::kFloat;
    else if (*text == "string") kind.type = DatumKind::Type::kString;
  } else if (const auto* object = value.if_object()) {
    if (const auto* name = object->if_contains("struct"); name && name->is_string()) {
      kind.type = DatumKind::Type::kStruct;
      kind.struct_name = name->get_string();
    }
  }
  return kind;
}

std::string string_member(const boost::json::object& object, std::string_view key) {
  const auto* member = object.if_contains(key);
  return member != nullptr && member->is_string() ? std::string(member->get_string()) : "";
}

const boost::json::object* user_of(const boost::json::object& object) {
  const auto* user = object.if_contains("user");
  return user == nullptr ? nullptr : user->if_object();
}

FieldMeta parse_field(std::string name, const boost::json::object& object) {
  FieldMeta field;
  field.name = std::move(name);
  field.desc = string_member(object, "desc");
  if (const auto* user = user_of(object)) field.om_skip = user->contains("_om_skip");
  if (const auto* datum = object.if_contains("datum")) {
    field.shape = FieldMeta::Shape::kDatum;
    field.datum = parse_kind(*datum);
  } else if (const auto* array = object.if_contains("array")) {
    field.shape = FieldMeta::Shape::kArray;
    field.datum = parse_kind(*array);
  } else if (const auto* dict = object.if_contains("dict"); dict && dict->is_object()) {
    field.shape = FieldMeta::Shape::kDict;
    if (const auto* key = dict->get_object().if_contains("key")) field.key = parse_kind(*key);
    if (const auto* value = dict->get_object().if_contains("datum")) field.datum = parse_kind(*value);
  }
  return field;
}

}  // namespace

std::string DatumKind::text() const {
  switch (type) {
    case Type::kI64: return "i64";
    case Type::kU64: return "u64";
    case Type::kFloat: return "float";
    case Type::kString: return "string";
    case Type::kStruct: return escape_for_terminal(struct_name, 64);
    case Type::kOther: break;
  }
  return "?";
}

std::string FieldMeta::type_text() const {
  switch (shape) {
    case Shape::kDatum: return datum.text();
    case Shape::kArray: return "array<" + datum.text() + ">";
    case Shape::kDict: return "dict<" + key.text() + ", " + datum.text() + ">";
    case Shape::kOther: break;
  }
  return "?";
}

const FieldMeta* StructMeta::field(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const StructMeta* StatsMeta::find(std::string_view name) const {
  for (const auto& s : structs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<const StructMeta*> StatsMeta::top() const {
  for (const auto& s : structs) {
    if (s.top) return &s;
  }
  return Protocol{"stats_meta marks no struct as \"top\""};
}

Result<StatsMeta> parse_stats_meta(const boost::json::value& payload) {
  const auto* map = payload.if_object();
  if (map == nullptr) return Protocol{"stats_meta is not a JSON object of structs"};
  StatsMeta meta;
  for (const auto& [name, value] : *map) {
    const auto* object = value.if_object();
    if (object == nullptr) {
      return Protocol{"stats_meta struct '" + escape_for_terminal(name, 64) + "' is not an object"};
    }
    StructMeta entry;
    entry.name = name;
    entry.desc = string_member(*object, "desc");
    entry.top = object->contains("top");
    if (const auto* user = user_of(*object)) {
      entry.om_prefix = string_member(*user, "_om_prefix");
      entry.om_label = string_member(*user, "_om_label");
    }
    if (const auto* fields = object->if_contains("fields"); fields && fields->is_object()) {
      for (const auto& [field_name, field] : fields->get_object()) {
        if (const auto* field_object = field.if_object()) {
          entry.fields.push_back(parse_field(field_name, *field_object));
        }
      }
    }
    meta.structs.push_back(std::move(entry));
  }
  return meta;
}

}  // namespace ktstats::cli
