#include "render/metric_names.hpp"

#include "ktstats/terminal_text.hpp"
#include "ktstats/utf8.hpp"

namespace ktstats::cli {
namespace {

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// The text one character (or one invalid byte) at a time: each kept when
// `keep` allows it, else replaced by '_'.
template <typename Keep>
std::string mapped_name(std::string_view raw, Keep keep) {
  std::string name;
  for (std::size_t i = 0; i < raw.size();) {
    const auto point = decode_utf8(raw.substr(i));
    const std::size_t bytes = point ? point->bytes : 1;
    name.push_back(bytes == 1 && keep(raw[i]) ? raw[i] : '_');
    i += bytes;
  }
  if (name.empty() || is_ascii_digit(name.front())) name.insert(name.begin(), '_');
  return name;
}

// Escapes as both formats read a quoted or HELP text, a double quote
// written as `quote`; what a reader could not see, or would take for an end
// of line, becomes '?'.
std::string escaped(std::string_view raw, std::string_view quote) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    const auto point = decode_utf8(raw.substr(i));
    if (!point) {
      out += '?';
      ++i;
      continue;
    }
    const char32_t c = point->value;
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += quote;
    else if (c == '\n') out += "\\n";
    else if (is_hidden_on_terminal(c)) out += '?';
    else out.append(raw.substr(i, point->bytes));
    i += point->bytes;
  }
  return out;
}

}  // namespace

std::string metric_name(std::string_view raw) {
  return mapped_name(raw, [](char c) { return is_ascii_letter(c) || is_ascii_digit(c) || c == '_' || c == ':'; });
}

std::string label_name(std::string_view raw) {
  std::string name =
      mapped_name(raw, [](char c) { return is_ascii_letter(c) || is_ascii_digit(c) || c == '_'; });
  const std::size_t underscores = name.find_first_not_of('_');
  const std::size_t run = underscores == std::string::npos ? name.size() : underscores;
  if (run > 1) name.erase(0, run - 1);
  return name;
}

std::string label_value_text(std::string_view raw) { return escaped(raw, "\\\""); }

std::string help_text(std::string_view raw, ExpositionFormat format) {
  return escaped(raw, format == ExpositionFormat::kOpenMetrics ? "'" : "\"");
}

std::string numbered_name(std::string_view base, std::size_t n) {
  return std::string(base) + "_" + std::to_string(n);
}

}  // namespace ktstats::cli
