#include "logger.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <iterator>

namespace ktstats::relay::logger {
namespace {

struct Config {
  Level level = Level::kInfo;
  Sink sink = Sink::kStderr;
  int fd = STDERR_FILENO;
};
constinit Config config;

// The names spdlog gave the levels, which the relay's lines have always had.
std::string_view level_name(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
    case Level::kOff: break;
  }
  return "off";
}

// The syslog priority the kernel log expects.
std::string_view kmsg_priority(Level level) {
  switch (level) {
    case Level::kError: return "<3>";
    case Level::kWarn: return "<4>";
    case Level::kInfo: return "<6>";
    default: return "<7>";
  }
}

std::string prefix(Level level) {
  std::string line;
  if (config.sink == Sink::kKmsg) {
    line = kmsg_priority(level);
    line += "ktstats-relay: ";
  } else {
    line = "ktstats-relay: ";
    line += level_name(level);
    line += ": ";
  }
  return line;
}

// The placeholder at format[at] ("{" up to the next "}"): its length and
// whether it asks for hexadecimal.
std::size_t placeholder_length(std::string_view format, std::size_t at, bool& hex) {
  const auto close = format.find('}', at);
  const auto end = close == std::string_view::npos ? format.size() : close + 1;
  hex = format.substr(at, end - at) == "{:#x}";
  return end - at;
}

void format_into(std::string& out, std::string_view format, std::initializer_list<Arg> args) {
  auto next = args.begin();
  for (std::size_t i = 0; i < format.size();) {
    const auto open = format.find('{', i);
    out.append(format.substr(i, open == std::string_view::npos ? open : open - i));
    if (open == std::string_view::npos) break;
    bool hex = false;
    i = open + placeholder_length(format, open, hex);
    if (next != args.end()) (next++)->append_to(out, hex);
  }
}

}  // namespace

void configure(Level level, Sink sink, int fd) { config = Config{level, sink, fd}; }

bool enabled(Level level) { return level != Level::kOff && level >= config.level; }

void Arg::append_to(std::string& out, bool hex) const {
  if (!is_number_) {
    out.append(text_);
    return;
  }
  char digits[24];
  char* first = std::begin(digits);
  if (negative_) *first++ = '-';
  if (hex) {
    *first++ = '0';
    *first++ = 'x';
  }
  const auto written = std::to_chars(first, std::end(digits), magnitude_, hex ? 16 : 10);
  out.append(std::begin(digits), written.ptr);
}

void write(Level level, std::string_view format, std::initializer_list<Arg> args) {
  std::string line = prefix(level);
  format_into(line, format, args);
  line += '\n';
  // One write per line, so that lines from several processes do not mix;
  // a log that cannot be written is not worth failing for.
  while (::write(config.fd, line.data(), line.size()) < 0 && errno == EINTR) {
  }
}

std::string format_message(std::string_view format, std::initializer_list<Arg> args) {
  std::string message;
  format_into(message, format, args);
  return message;
}

}  // namespace ktstats::relay::logger
