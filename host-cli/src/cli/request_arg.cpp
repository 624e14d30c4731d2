#include "cli/request_arg.hpp"

#include "ktstats/limits.hpp"
#include "ktstats/terminal_text.hpp"
#include "ktstats/utf8.hpp"

namespace ktstats::cli {
namespace {

constexpr std::size_t kShownBytes = 200;

std::string quoted(std::string_view text) {
  return "'" + escape_for_terminal(text, kShownBytes) + "'";
}

template <class T>
std::optional<T> rejected(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return std::nullopt;
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\v\f") == std::string_view::npos;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> parse_request_arg(std::string_view text,
                                                                     std::string* why) {
  using Arg = std::pair<std::string, std::string>;
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) return rejected<Arg>(why, quoted(text) + " is not KEY=VALUE");
  if (equals == 0) return rejected<Arg>(why, quoted(text) + " has an empty key");
  if (auto bad = find_invalid_utf8(text)) {
    return rejected<Arg>(why, quoted(text) + " is not valid UTF-8 (at byte " +
                                  std::to_string(*bad + 1) + "); request arguments are JSON strings");
  }
  return Arg{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

std::optional<std::string> parse_raw_line(std::string_view text, std::string* why) {
  if (is_blank(text)) {
    return rejected<std::string>(why, (text.empty() ? "the line is empty" : quoted(text) + " is blank") +
                                          std::string(": give one request, e.g. '{\"req\":\"stats\"}'"));
  }
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    return rejected<std::string>(
        why, quoted(text) + " holds a line break: raw sends one line, so one request");
  }
  if (text.size() + 1 > kMaxLineBytes) {
    return rejected<std::string>(why, "the line is " + std::to_string(text.size()) +
                                          " bytes, over the cap of " +
                                          std::to_string(kMaxLineBytes - 1));
  }
  return std::string(text);
}

}  // namespace ktstats::cli
