#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "ktstats/result.hpp"

namespace ktstats::cli {

// The stats_meta schema, as far as output needs it.
struct DatumKind {
  enum class Type { kI64, kU64, kFloat, kString, kStruct, kOther };
  Type type = Type::kOther;
  std::string struct_name;  // for kStruct

  bool numeric() const { return type == Type::kI64 || type == Type::kU64 || type == Type::kFloat; }
  std::string text() const;
};

struct FieldMeta {
  enum class Shape { kDatum, kArray, kDict, kOther };
  std::string name;
  Shape shape = Shape::kOther;
  DatumKind datum;  // the element of an array, the value of a dict
  DatumKind key;    // for a dict
  std::string desc;
  bool om_skip = false;

  std::string type_text() const;
};

struct StructMeta {
  std::string name;
  std::string desc;
  bool top = false;
  std::vector<FieldMeta> fields;
  std::string om_prefix;
  std::string om_label;

  const FieldMeta* field(std::string_view name) const;
};

struct StatsMeta {
  std::vector<StructMeta> structs;  // in the schema's order

  const StructMeta* find(std::string_view name) const;
  // The struct marked "top"; Protocol error when there is none.
  Result<const StructMeta*> top() const;
};

// Reads a stats_meta payload; Protocol error when it is not one.
Result<StatsMeta> parse_stats_meta(const boost::json::value& payload);

}  // namespace ktstats::cli
