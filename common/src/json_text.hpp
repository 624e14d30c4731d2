#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// JSON text written and read without a JSON library, for the few fixed
// shapes of line the relay itself writes and recognises. The relay is a
// static binary; Boost.JSON and the iostreams and locale code it brings are
// most of its size (docs/PERFORMANCE.md, "The relay's footprint").
namespace ktstats::json_text {

// Appends text as a JSON string, quotes included, escaped as Boost.JSON's
// serializer escapes it: quote and backslash, the C0 controls as \b \f \n
// \r \t or \u00xx; every other byte (DEL, UTF-8 sequences) as it is.
void append_string(std::string& out, std::string_view text);

// A flat object built member by member, in order:
//   ObjectWriter().string("a", "x").number("n", 1).finish() == {"a":"x","n":1}
class ObjectWriter {
 public:
  ObjectWriter& string(std::string_view key, std::string_view value);
  ObjectWriter& number(std::string_view key, std::uint64_t value);
  // The object's text; the writer is spent.
  std::string finish();

 private:
  void key(std::string_view key);
  std::string text_{"{"};
};

// Reads a line as the one shape {"<key>":"<value>"}, JSON whitespace around
// every token; the key and value are taken as written, so one holding a
// backslash (an escape) or a raw control byte does not match.
struct PlainMember {
  std::string_view key;
  std::string_view value;
};
std::optional<PlainMember> read_plain_member(std::string_view line);

}  // namespace ktstats::json_text
