#include "json_text.hpp"

#include <charconv>
#include <iterator>
#include <utility>

namespace ktstats::json_text {
namespace {

constexpr std::string_view kJsonSpace = " \t\n\r";

// The escape for a C0 control byte: a short form where JSON has one.
void append_control(std::string& out, unsigned char byte) {
  switch (byte) {
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  out += "\\u00";
  out += kHex[byte >> 4];
  out += kHex[byte & 0xf];
}

// Steps over one expected token of a line.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  bool take(char token) {
    skip_space();
    if (rest_.empty() || rest_.front() != token) return false;
    rest_.remove_prefix(1);
    return true;
  }

  // A string's bytes between its quotes, if it has no escape or control byte.
  std::optional<std::string_view> plain_string() {
    if (!take('"')) return std::nullopt;
    const auto end = rest_.find('"');
    if (end == std::string_view::npos) return std::nullopt;
    const auto text = rest_.substr(0, end);
    for (const char c : text) {
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    }
    rest_.remove_prefix(end + 1);
    return text;
  }

  bool at_end() {
    skip_space();
    return rest_.empty();
  }

 private:
  void skip_space() {
    const auto first = rest_.find_first_not_of(kJsonSpace);
    rest_.remove_prefix(first == std::string_view::npos ? rest_.size() : first);
  }

  std::string_view rest_;
};

}  // namespace

void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20) {
      append_control(out, byte);
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
  }
  out += '"';
}

ObjectWriter& ObjectWriter::string(std::string_view key, std::string_view value) {
  this->key(key);
  append_string(text_, value);
  return *this;
}

ObjectWriter& ObjectWriter::number(std::string_view key, std::uint64_t value) {
  this->key(key);
  char digits[20];
  const auto written = std::to_chars(std::begin(digits), std::end(digits), value);
  text_.append(digits, written.ptr);
  return *this;
}

std::string ObjectWriter::finish() {
  text_ += '}';
  return std::move(text_);
}

void ObjectWriter::key(std::string_view key) {
  if (text_.size() > 1) text_ += ',';
  append_string(text_, key);
  text_ += ':';
}

std::optional<PlainMember> read_plain_member(std::string_view line) {
  Cursor cursor(line);
  if (!cursor.take('{')) return std::nullopt;
  const auto key = cursor.plain_string();
  if (!key || !cursor.take(':')) return std::nullopt;
  const auto value = cursor.plain_string();
  if (!value || !cursor.take('}') || !cursor.at_end()) return std::nullopt;
  return PlainMember{*key, *value};
}

}  // namespace ktstats::json_text
