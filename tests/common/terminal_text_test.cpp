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
  EXPECT_EQ(escape_for_terminal("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escape_for_terminal(std::string("\x1b[31m\x07\x7f\0", 8)), "\\x1b[31m\\x07\\x7f\\x00");
  // C1 CSI (U+009B) can start an escape sequence on some terminals.
  EXPECT_EQ(escape_for_terminal("\xc2\x9b" "2J"), "\\u009b2J");
}

// The text \x1b and an escaped ESC must not look the same.
TEST(EscapeForTerminal, BackslashIsEscapedSoEscapesAreUnambiguous) {
  EXPECT_EQ(escape_for_terminal("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_for_terminal("\\x1b"), "\\\\x1b");
  EXPECT_EQ(escape_for_terminal("\x1b"), "\\x1b");
  EXPECT_NE(escape_for_terminal("\\x1b"), escape_for_terminal("\x1b"));
  EXPECT_EQ(escape_for_terminal("\\u202e"), "\\\\u202e");
}

// Right-to-left override and friends reorder what follows them on screen.
TEST(EscapeForTerminal, BidiControlsEscaped) {
  EXPECT_EQ(escape_for_terminal("ok\u202Eevil"), "ok\\u202eevil");
  for (char32_t c = 0x202A; c <= 0x202E; ++c) {
    EXPECT_TRUE(is_hidden_on_terminal(c)) << static_cast<unsigned>(c);
  }
  for (char32_t c = 0x2066; c <= 0x2069; ++c) {
    EXPECT_TRUE(is_hidden_on_terminal(c)) << static_cast<unsigned>(c);
  }
  EXPECT_EQ(escape_for_terminal("\u2066x\u2069"), "\\u2066x\\u2069");
  EXPECT_EQ(escape_for_terminal("\u200E\u200F\u061C"), "\\u200e\\u200f\\u061c");
}

TEST(EscapeForTerminal, LineAndParagraphSeparatorsEscaped) {
  EXPECT_EQ(escape_for_terminal("a\u2028b\u2029c"), "a\\u2028b\\u2029c");
}

TEST(EscapeForTerminal, ZeroWidthCharactersEscaped) {
  EXPECT_EQ(escape_for_terminal("a\u200Bb\u200Cc\u200Dd"), "a\\u200bb\\u200cc\\u200dd");
  EXPECT_EQ(escape_for_terminal("\u2060\uFEFFx\u00AD"), "\\u2060\\ufeffx\\u00ad");
  // Tag characters, past U+FFFF: invisible text riding along.
  EXPECT_EQ(escape_for_terminal("x\U000E0041\U000E007F"), "x\\U000e0041\\U000e007f");
}

TEST(EscapeForTerminal, VisibleNeighboursOfHiddenRangesPassThrough) {
  for (char32_t c : {0x20u, 0x7Eu, 0xA0u, 0xACu, 0xAEu, 0x200Au, 0x2010u, 0x2027u, 0x202Fu,
                     0x205Fu, 0x2065u, 0x2070u, 0xFEFEu, 0xFF00u, 0xE0000u, 0xE0080u}) {
    EXPECT_FALSE(is_hidden_on_terminal(c)) << std::hex << static_cast<unsigned>(c);
  }
  for (char32_t c : {0x00u, 0x1Fu, 0x7Fu, 0x80u, 0x9Fu, 0x200Bu, 0x2064u, 0x206Fu, 0xFFF9u,
                     0xFFFBu, 0x1343Fu, 0xE0001u, 0xE0020u}) {
    EXPECT_TRUE(is_hidden_on_terminal(c)) << std::hex << static_cast<unsigned>(c);
  }
  EXPECT_EQ(escape_for_terminal("\u00A0\u2010\u202F"), "\u00A0\u2010\u202F");
}

TEST(EscapeForTerminal, InvalidUtf8BytesEscaped) {
  EXPECT_EQ(escape_for_terminal("a\xff\xc3"), "a\\xff\\xc3");
  EXPECT_EQ(escape_for_terminal("\xe2\x82"), "\\xe2\\x82");
}

TEST(EscapeForTerminal, CutsLongText) {
  EXPECT_EQ(escape_for_terminal("abcdef", 3), "abc...");
  EXPECT_EQ(escape_for_terminal("abc", 3), "abc");
}

// A cut inside a character would show bytes the peer never sent as invalid.
TEST(EscapeForTerminal, CutsAtACharacterBoundary) {
  EXPECT_EQ(escape_for_terminal("ab\xc3\xa9z", 3), "ab...");
  EXPECT_EQ(escape_for_terminal("a\xf0\x9f\x98\x80z", 4), "a...");
  EXPECT_EQ(escape_for_terminal("a\xf0\x9f\x98\x80z", 5), "a\xf0\x9f\x98\x80...");
  // Bytes that were invalid anyway are cut where asked.
  EXPECT_EQ(escape_for_terminal("ab\xff\xfez", 3), "ab\\xff...");
}

TEST(DecodeUtf8, CodePointsAndLengths) {
  EXPECT_EQ(decode_utf8("A")->value, U'A');
  EXPECT_EQ(decode_utf8("\xc3\xa9")->value, U'\u00e9');
  EXPECT_EQ(decode_utf8("\xe2\x80\xae")->value, U'\u202e');
  EXPECT_EQ(decode_utf8("\xe2\x80\xae")->bytes, 3u);
  EXPECT_EQ(decode_utf8("\xf3\xa0\x81\x81x")->value, U'\U000e0041');
  EXPECT_EQ(decode_utf8("\xf3\xa0\x81\x81x")->bytes, 4u);
  EXPECT_EQ(decode_utf8(""), std::nullopt);
  EXPECT_EQ(decode_utf8("\x80"), std::nullopt);
  EXPECT_EQ(decode_utf8("\xc0\x80"), std::nullopt);  // overlong
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
