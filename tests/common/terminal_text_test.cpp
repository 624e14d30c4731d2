#include "ktstats/terminal_text.hpp"

#include <gtest/gtest.h>

#include "ktstats/utf8.hpp"

namespace ktstats {
namespace {

TEST(EscapeForTerminal, PlainTextUnchanged) {
  EXPECT_EQ(escape_for_terminal("cpu 3: 12.5% \xc3\xa9t\xc3\xa9 \xe2\x82\xac"),
            "cpu 3: 12.5% \xc3\xa9t\xc3\xa9 \xe2\x82\xac");
}

TEST(EscapeForTerminal, ControlCharactersBecomeVisible) {
  EXPECT_EQ(escape_for_terminal("a\nb\tc\rd\\e"), "a\\nb\\tc\\rd\\e");
  EXPECT_EQ(escape_for_terminal(std::string("\x1b[31m\x07\x7f\0", 8)), "\\x1b[31m\\x07\\x7f\\x00");
  // C1 CSI (U+009B) can start an escape sequence on some terminals.
  EXPECT_EQ(escape_for_terminal("\xc2\x9b" "2J"), "\\u009b2J");
}

TEST(EscapeForTerminal, InvalidUtf8BytesEscaped) {
  EXPECT_EQ(escape_for_terminal("a\xff\xc3"), "a\\xff\\xc3");
  EXPECT_EQ(escape_for_terminal("\xe2\x82"), "\\xe2\\x82");
}

TEST(EscapeForTerminal, CutsLongText) {
  EXPECT_EQ(escape_for_terminal("abcdef", 3), "abc...");
  EXPECT_EQ(escape_for_terminal("abc", 3), "abc");
}

TEST(FindInvalidUtf8, Positions) {
  EXPECT_EQ(find_invalid_utf8("plain ascii text, long enough for the fast path"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("0123456789\x80"), 10u);
  EXPECT_EQ(find_invalid_utf8("\xf0\x9f\x98\x80ok"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("ok\xf0\x9f\x98"), 2u);
  EXPECT_EQ(find_invalid_utf8("\xe0\x80\x80"), 0u);  // overlong
}

}  // namespace
}  // namespace ktstats
