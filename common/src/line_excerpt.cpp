// Apart from json_line.cpp's parser, so that a program that only shows
// lines (the relay) links no JSON library.
#include "ktstats/json_line.hpp"
#include "ktstats/terminal_text.hpp"

namespace ktstats {
namespace {

constexpr std::size_t kExcerptBytes = 48;

}  // namespace

std::string line_excerpt(std::string_view line) {
  // Appending into one reserved string, not `"\"" + text`: GCC 12 at -O2
  // and above reports a false -Wrestrict overlap in the operator+ form.
  const std::string text = escape_for_terminal(line, kExcerptBytes);
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted += '"';
  quoted += text;
  quoted += '"';
  return quoted;
}

}  // namespace ktstats
