#include "render/render.hpp"

#include <charconv>
#include <cmath>
#include <vector>

#include <boost/json/object.hpp>

namespace ktstats::cli {
namespace {

struct Label {
  std::string name;
  std::string value;
};

struct Family {
  std::string name;
  std::string help;
  std::vector<std::string> samples;  // "{labels} value" or " value"
};

bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// Metric and label names allow [a-zA-Z_:][a-zA-Z0-9_:]*; anything else
// becomes '_'.
std::string metric_name(std::string_view text) {
  std::string name;
  for (char c : text) name.push_back(is_name_char(c, name.empty()) ? c : '_');
  if (name.empty()) name = "_";
  return name;
}

// Escapes backslash, double quote and newline as OpenMetrics requires, and
// replaces any other control character, which the format cannot escape and
// a terminal must not see.
std::string escaped(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if (c < 0x20 || c == 0x7F) out += '?';
    else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string number_text(const boost::json::value& value) {
  if (value.is_int64()) return std::to_string(value.get_int64());
  if (value.is_uint64()) return std::to_string(value.get_uint64());
  const double number = value.get_double();
  // The exposition formats spell these out; to_chars would write "inf".
  if (std::isnan(number)) return "NaN";
  if (std::isinf(number)) return number > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  return std::string(buffer, end);
}

class Exposition {
 public:
  explicit Exposition(const StatsMeta& meta) : meta_(meta) {}

  void add_struct(const StructMeta& shape, const boost::json::object& values,
                  const std::vector<Label>& labels) {
    for (const auto& field : shape.fields) {
      if (field.om_skip) continue;
      const auto* value = values.if_contains(field.name);
      if (value == nullptr) continue;
      if (field.shape == FieldMeta::Shape::kDatum && field.datum.numeric() && value->is_number()) {
        add_sample(shape.om_prefix + field.name, field.desc, labels, *value);
      } else if (field.shape == FieldMeta::Shape::kDict &&
                 field.datum.type == DatumKind::Type::kStruct && value->is_object()) {
        add_dict(field, value->get_object(), labels);
      }
    }
  }

  std::string text() const {
    std::string out;
    for (const auto& family : families_) {
      out += "# TYPE " + family.name + " gauge\n";
      if (!family.help.empty()) out += "# HELP " + family.name + " " + escaped(family.help) + "\n";
      for (const auto& sample : family.samples) out += family.name + sample + "\n";
    }
    out += "# EOF";
    return out;
  }

 private:
  void add_dict(const FieldMeta& field, const boost::json::object& entries,
                const std::vector<Label>& labels) {
    const StructMeta* inner = meta_.find(field.datum.struct_name);
    // Without a label the entries could not be told apart: upstream refuses too.
    if (inner == nullptr || inner->om_label.empty()) return;
    for (const auto& [key, entry] : entries) {
      if (!entry.is_object()) continue;
      auto nested = labels;
      nested.push_back({metric_name(inner->om_label), std::string(key)});
      add_struct(*inner, entry.get_object(), nested);
    }
  }

  void add_sample(const std::string& raw_name, const std::string& help,
                  const std::vector<Label>& labels, const boost::json::value& value) {
    const std::string name = metric_name(raw_name);
    Family* family = nullptr;
    for (auto& existing : families_) {
      if (existing.name == name) family = &existing;
    }
    if (family == nullptr) family = &families_.emplace_back(Family{name, help, {}});
    std::string sample;
    if (!labels.empty()) {
      sample += "{";
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) sample += ",";
        sample += labels[i].name + "=\"" + escaped(labels[i].value) + "\"";
      }
      sample += "}";
    }
    family->samples.push_back(sample + " " + number_text(value));
  }

  const StatsMeta& meta_;
  std::vector<Family> families_;
};

}  // namespace

std::string render_openmetrics(const boost::json::value& payload, const StatsMeta& meta,
                               const StructMeta* root) {
  Exposition exposition(meta);
  if (root != nullptr && payload.is_object()) exposition.add_struct(*root, payload.get_object(), {});
  return exposition.text();
}

}  // namespace ktstats::cli
