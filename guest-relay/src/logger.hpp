#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

// The relay's log: one line per message, "{}" placeholders filled in order
// ("{:#x}" in hexadecimal). Its own rather than spdlog and fmt, which were a
// seventh of the static binary (docs/PERFORMANCE.md, "The relay's footprint").
namespace ktstats::relay::logger {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Where the lines go: stderr as "ktstats-relay: <level>: <message>", or
// /dev/kmsg as "<priority>ktstats-relay: <message>", one write() each.
enum class Sink { kStderr, kKmsg };

// Until configured: info and above, to stderr.
void configure(Level level, Sink sink, int fd);

bool enabled(Level level);

// One argument of a message, as text or as an integer.
class Arg {
 public:
  Arg(std::string_view text) : text_(text) {}  // NOLINT: implicit by design
  Arg(const std::string& text) : text_(text) {}  // NOLINT
  Arg(const char* text) : text_(text) {}  // NOLINT
  template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  Arg(T value)  // NOLINT
      : is_number_(true), negative_(value < 0), magnitude_(magnitude(value)) {}

  void append_to(std::string& out, bool hex) const;

 private:
  template <typename T>
  static std::uint64_t magnitude(T value) {
    if constexpr (std::is_signed_v<T>) {
      return value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    } else {
      return value;
    }
  }

  std::string_view text_;
  bool is_number_ = false;
  bool negative_ = false;
  std::uint64_t magnitude_ = 0;
};

// Not constexpr: a consteval call that reaches it does not compile.
void placeholders_differ_from_arguments();

// A message's format, checked when compiled: one placeholder per argument.
template <typename... Args>
class Format {
 public:
  template <std::size_t N>
  consteval Format(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT
    if (placeholders(text_) != sizeof...(Args)) placeholders_differ_from_arguments();
  }
  std::string_view text() const { return text_; }

 private:
  static constexpr std::size_t placeholders(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '{') ++count;
    }
    return count;
  }
  std::string_view text_;
};

void write(Level level, std::string_view format, std::initializer_list<Arg> args);

// The functions a message is logged with: logger::info("...", args...).
template <Level kLevel>
struct LogAt {
  template <typename... Args>
  void operator()(Format<std::type_identity_t<Args>...> format, const Args&... args) const {
    if (enabled(kLevel)) write(kLevel, format.text(), {Arg(args)...});
  }
};
inline constexpr LogAt<Level::kTrace> trace;
inline constexpr LogAt<Level::kDebug> debug;
inline constexpr LogAt<Level::kInfo> info;
inline constexpr LogAt<Level::kWarn> warn;
inline constexpr LogAt<Level::kError> error;

// The message as write() would put it, without the prefix: for tests.
std::string format_message(std::string_view format, std::initializer_list<Arg> args);

}  // namespace ktstats::relay::logger
