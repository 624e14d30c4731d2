#include "render/json_text.hpp"

#include <charconv>
#include <cstdio>

namespace ktstats::cli {
namespace {

void append_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    unsigned code = 0;
    if (c < 0x20 || c == 0x7F) {
      code = c;
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      code = static_cast<unsigned char>(text[++i]);  // C1 control, U+0080..U+009F
    } else {
      out.push_back(static_cast<char>(c));
      continue;
    }
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\u%04x", code);
    out += escape;
  }
  out.push_back('"');
}

void append_double(std::string& out, double number) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_newline(std::string& out, bool indent, int depth) {
  if (!indent) return;
  out.push_back('\n');
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

void append_value(std::string& out, const boost::json::value& value, bool indent, int depth) {
  switch (value.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += value.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: out += std::to_string(value.get_int64()); return;
    case boost::json::kind::uint64: out += std::to_string(value.get_uint64()); return;
    case boost::json::kind::double_: append_double(out, value.get_double()); return;
    case boost::json::kind::string: append_string(out, value.get_string()); return;
    case boost::json::kind::array: {
      const auto& array = value.get_array();
      if (array.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const auto& element : array) {
        if (!first) out.push_back(',');
        first = false;
        append_newline(out, indent, depth + 1);
        append_value(out, element, indent, depth + 1);
      }
      append_newline(out, indent, depth);
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      if (object.empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : object) {
        if (!first) out.push_back(',');
        first = false;
        append_newline(out, indent, depth + 1);
        append_string(out, key);
        out += indent ? ": " : ":";
        append_value(out, member, indent, depth + 1);
      }
      append_newline(out, indent, depth);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

std::string to_json_text(const boost::json::value& value, bool indent) {
  std::string out;
  append_value(out, value, indent, 0);
  return out;
}

}  // namespace ktstats::cli
