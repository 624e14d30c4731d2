#include "ktstats/line_framer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ktstats {
namespace {

std::vector<Frame> drain(LineFramer& framer) {
  std::vector<Frame> frames;
  while (auto frame = framer.next()) frames.push_back(std::move(*frame));
  return frames;
}

std::vector<Frame> frames_of(std::initializer_list<std::string_view> chunks,
                             std::size_t cap = kMaxLineBytes) {
  LineFramer framer(cap);
  std::vector<Frame> frames;
  for (auto chunk : chunks) {
    framer.feed(chunk);
    for (auto& f : drain(framer)) frames.push_back(std::move(f));
  }
  return frames;
}

Frame line(std::string text) { return Frame(std::move(text)); }

TEST(LineFramer, CompleteLinesInOrder) {
  EXPECT_EQ(frames_of({"a\nbb\nccc\n"}), (std::vector<Frame>{line("a"), line("bb"), line("ccc")}));
}

TEST(LineFramer, PartialDataWaitsForItsNewline) {
  LineFramer framer;
  framer.feed(R"({"req":)");
  EXPECT_FALSE(framer.next().has_value());
  EXPECT_EQ(framer.partial_bytes(), 7u);
  framer.feed("\"stats\"}\n{\"r");
  EXPECT_EQ(drain(framer), std::vector<Frame>{line(R"({"req":"stats"})")});
  framer.feed("\"}\n");
  EXPECT_EQ(drain(framer), std::vector<Frame>{line(R"({"r"})")});
}

TEST(LineFramer, ByteAtATime) {
  const std::string stream = "one\r\ntwo\n\nthree\n";
  LineFramer framer;
  std::vector<Frame> frames;
  for (char c : stream) {
    framer.feed(std::string_view(&c, 1));
    for (auto& f : drain(framer)) frames.push_back(std::move(f));
  }
  EXPECT_EQ(frames, (std::vector<Frame>{line("one"), line("two"), line(""), line("three")}));
}

TEST(LineFramer, StripsOneCarriageReturnEvenAcrossFeeds) {
  EXPECT_EQ(frames_of({"a\r", "\nb\r\r\n"}), (std::vector<Frame>{line("a"), line("b\r")}));
}

TEST(LineFramer, EmptyLinesAreFrames) {
  EXPECT_EQ(frames_of({"\n\r\n"}), (std::vector<Frame>{line(""), line("")}));
}

TEST(LineFramer, LineAtTheCapPassesOneOverIsReported) {
  EXPECT_EQ(frames_of({"12345\n123456\n"}, 5),
            (std::vector<Frame>{line("12345"), LineTooLong{6}}));
  EXPECT_EQ(frames_of({"12345\r\n"}, 5), std::vector<Frame>{line("12345")});
}

TEST(LineFramer, OversizeLineReportedOnceThenFramingResumes) {
  const std::string big(300 * 1024, 'x');
  LineFramer framer;
  std::vector<Frame> frames;
  // Fed in 4 KiB chunks as a socket would deliver it.
  const std::string stream = "first\n" + big + "\n{\"errno\":0}\n";
  for (std::size_t i = 0; i < stream.size(); i += 4096) {
    framer.feed(std::string_view(stream).substr(i, 4096));
    EXPECT_LE(framer.partial_bytes(), kMaxLineBytes + 1);
    for (auto& f : drain(framer)) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], line("first"));
  const auto* too_long = std::get_if<LineTooLong>(&frames[1]);
  ASSERT_NE(too_long, nullptr);
  EXPECT_GT(too_long->size, kMaxLineBytes);
  EXPECT_LE(too_long->size, kMaxLineBytes + 1 + 4096);
  EXPECT_EQ(frames[2], line("{\"errno\":0}"));
}

TEST(LineFramer, OversizeLineInOneFeedKeepsNeighbours) {
  const std::string big(300 * 1024, 'y');
  EXPECT_EQ(frames_of({"a\n" + big + "\nb\n"}),
            (std::vector<Frame>{line("a"), LineTooLong{big.size()}, line("b")}));
}

TEST(LineFramer, MegabyteWithoutNewlineHoldsNothing) {
  LineFramer framer(1024);
  for (int i = 0; i < 256; ++i) framer.feed(std::string(4096, 'z'));
  EXPECT_EQ(framer.partial_bytes(), 0u);
  EXPECT_EQ(drain(framer), std::vector<Frame>{LineTooLong{4096}});
  framer.feed("tail\nok\n");
  EXPECT_EQ(drain(framer), std::vector<Frame>{line("ok")});
}

TEST(LineFramer, ResetDropsPartialAndReady) {
  LineFramer framer;
  framer.feed("done\npart");
  framer.reset();
  EXPECT_FALSE(framer.has_frame());
  EXPECT_EQ(framer.partial_bytes(), 0u);
  framer.feed("ial\n");
  EXPECT_EQ(drain(framer), std::vector<Frame>{line("ial")});
}

TEST(LineFramer, ResetEndsDiscarding) {
  LineFramer framer(4);
  framer.feed("toolong");
  framer.reset();
  framer.feed("ok\n");
  EXPECT_EQ(drain(framer), std::vector<Frame>{line("ok")});
}

}  // namespace
}  // namespace ktstats
