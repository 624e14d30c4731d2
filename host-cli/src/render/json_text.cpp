#include "render/json_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ktstats/terminal_text.hpp"
#include "ktstats/utf8.hpp"

namespace ktstats::cli {
namespace {

// A \uXXXX escape, as a surrogate pair past the Basic Multilingual Plane.
void append_unicode_escape(std::string& out, char32_t code_point) {
  char escape[16];
  if (code_point > 0xFFFF) {
    const auto offset = static_cast<unsigned>(code_point - 0x10000);
    std::snprintf(escape, sizeof escape, "\\u%04x\\u%04x", 0xD800 + (offset >> 10),
                  0xDC00 + (offset & 0x3FF));
  } else {
    std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(code_point));
  }
  out += escape;
}

void append_ascii(std::string& out, char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    default: break;
  }
  if (is_hidden_on_terminal(static_cast<unsigned char>(c))) {
    append_unicode_escape(out, static_cast<unsigned char>(c));
  } else {
    out.push_back(c);
  }
}

void append_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      append_ascii(out, text[i]);
      ++i;
      continue;
    }
    const auto point = decode_utf8(text.substr(i));
    if (!point) {
      // Parsed input is valid UTF-8; anything else must still print as JSON.
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (is_hidden_on_terminal(point->value)) {
      append_unicode_escape(out, point->value);
    } else {
      out.append(text.substr(i, point->bytes));
    }
    i += point->bytes;
  }
  out.push_back('"');
}

// JSON has no infinity: a number past the range of a double (1e400 parses
// as infinity) is written as the largest finite double of its sign, as jq
// does; NaN, which no JSON text can produce, as null.
void append_double(std::string& out, double number) {
  if (std::isnan(number)) {
    out += "null";
    return;
  }
  if (std::isinf(number)) number = std::copysign(std::numeric_limits<double>::max(), number);
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
