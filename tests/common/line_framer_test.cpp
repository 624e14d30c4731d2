#include "ktstats/line_framer.hpp"

#include <gtest/gtest.h>

#include <string>
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

// ---------------------------------------------------------------- views

// Frames as next_view() gives them, turned into owned frames; each chunk is
// fed from a buffer that is overwritten after keep_unscanned(), as the
// relay's one read buffer is by the next read.
std::vector<Frame> view_frames_of(const std::vector<std::string>& chunks, std::size_t cap,
                                  std::size_t take_per_chunk = ~std::size_t{0}) {
  LineFramer framer(cap);
  std::vector<Frame> frames;
  std::string buffer;
  auto take = [&](std::size_t most) {
    for (std::size_t i = 0; i < most; ++i) {
      auto frame = framer.next_view();
      if (!frame) return;
      if (const auto* view = std::get_if<std::string_view>(&*frame)) {
        frames.emplace_back(std::string(*view));
      } else {
        frames.emplace_back(std::get<LineTooLong>(*frame));
      }
    }
  };
  for (const auto& chunk : chunks) {
    buffer = chunk;
    framer.feed_view(buffer);
    take(take_per_chunk);
    framer.keep_unscanned();
    std::fill(buffer.begin(), buffer.end(), '#');
  }
  take(~std::size_t{0});
  return frames;
}

std::vector<Frame> owned_frames_of(const std::vector<std::string>& chunks, std::size_t cap) {
  LineFramer framer(cap);
  std::vector<Frame> frames;
  for (const auto& chunk : chunks) {
    framer.feed(chunk);
    for (auto& f : drain(framer)) frames.push_back(std::move(f));
  }
  return frames;
}

// Oversize reports with their sizes checked past the cap and then dropped.
std::vector<Frame> sizes_past_cap(std::vector<Frame> frames, std::size_t cap) {
  for (auto& frame : frames) {
    if (auto* too_long = std::get_if<LineTooLong>(&frame)) {
      EXPECT_GT(too_long->size, cap);
      too_long->size = 0;
    }
  }
  return frames;
}

TEST(LineFramerViews, SameFramesAsOwnedLinesForEveryChunking) {
  const std::string stream = "a\r\nbb\n\n\r\n12345\n123456\nxx\r\r\n" + std::string(20, 'z') +
                             "\n" + std::string(9, 'w') + "\r\nend\n";
  for (std::size_t size = 1; size <= stream.size(); ++size) {
    std::vector<std::string> chunks;
    for (std::size_t i = 0; i < stream.size(); i += size) chunks.push_back(stream.substr(i, size));
    const auto owned = owned_frames_of(chunks, 8);
    EXPECT_EQ(view_frames_of(chunks, 8), owned) << "chunks of " << size;
    // Bytes left unframed are framed with the next feed's: an oversize
    // line may then be seen longer when the cap is crossed.
    for (std::size_t take : {std::size_t{1}, std::size_t{2}}) {
      EXPECT_EQ(sizes_past_cap(view_frames_of(chunks, 8, take), 8), sizes_past_cap(owned, 8))
          << "chunks of " << size << ", " << take << " frames taken per chunk";
    }
  }
}

TEST(LineFramerViews, ALineInOneFeedIsAViewOfTheFedBytes) {
  LineFramer framer;
  const std::string bytes = "first\r\nsecond\n";
  framer.feed_view(bytes);
  auto frame = framer.next_view();
  ASSERT_TRUE(frame.has_value());
  const auto view = std::get<std::string_view>(*frame);
  EXPECT_EQ(view, "first");
  EXPECT_EQ(view.data(), bytes.data());
  EXPECT_FALSE(framer.view_is_held());
  EXPECT_TRUE(framer.has_unscanned());
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "second");
  EXPECT_FALSE(framer.next_view().has_value());
  EXPECT_FALSE(framer.has_unscanned());
}

TEST(LineFramerViews, UnscannedBytesOutliveTheCallersBuffer) {
  LineFramer framer;
  std::string buffer = "one\ntwo\nthr";
  framer.feed_view(buffer);
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "one");
  framer.keep_unscanned();
  buffer.assign(buffer.size(), '#');
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "two");
  buffer = "ee\n";
  EXPECT_FALSE(framer.next_view().has_value());
  EXPECT_EQ(framer.partial_bytes(), 3u);
  framer.feed_view(buffer);
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "three");
  EXPECT_TRUE(framer.view_is_held());
  EXPECT_EQ(framer.partial_bytes(), 0u);
}

TEST(LineFramerViews, FeedingBeforeAllIsFramedKeepsOrder) {
  LineFramer framer;
  std::string first = "a\nb\nc";
  framer.feed_view(first);
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "a");
  std::string second = "d\ne\n";
  framer.feed_view(second);
  first.assign(first.size(), '#');
  framer.keep_unscanned();
  second.assign(second.size(), '#');
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "b");
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "cd");
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "e");
  EXPECT_FALSE(framer.next_view().has_value());
}

TEST(LineFramerViews, AHeldLineIsSwappedOutWithoutACopy) {
  LineFramer framer;
  const std::string big(100'000, 'b');
  framer.feed_view(std::string_view(big).substr(0, 60'000));
  EXPECT_FALSE(framer.next_view().has_value());
  const std::string rest = big.substr(60'000) + "\nnext";
  framer.feed_view(rest);
  const auto view = std::get<std::string_view>(*framer.next_view());
  ASSERT_TRUE(framer.view_is_held());
  std::string storage;
  storage.reserve(70'000);
  const char* room = storage.data();
  framer.take_held_line(storage);
  EXPECT_EQ(storage, big);
  EXPECT_EQ(storage.data(), view.data());
  EXPECT_FALSE(framer.view_is_held());
  // The storage's room frames the next line.
  EXPECT_FALSE(framer.next_view().has_value());
  const std::string end = "\n";
  framer.feed_view(end);
  const auto next = std::get<std::string_view>(*framer.next_view());
  EXPECT_EQ(next, "next");
  EXPECT_EQ(next.data(), room);
}

// Room far larger than a line (an output grown under a backlog) is not
// kept by the framer it was swapped into.
TEST(LineFramerViews, SwappedInRoomIsKeptOnlyUpToALine) {
  LineFramer framer(1000);
  framer.feed_view("a piece ");
  EXPECT_FALSE(framer.next_view().has_value());
  framer.feed_view("and the rest\n");
  ASSERT_TRUE(framer.next_view().has_value());
  ASSERT_TRUE(framer.view_is_held());
  std::string storage;
  storage.reserve(1'000'000);
  framer.take_held_line(storage);
  EXPECT_EQ(storage, "a piece and the rest");
  EXPECT_LE(framer.held_capacity(), 1001u);
}

TEST(LineFramerViews, OversizeLineReportedOnceAndHoldsNothing) {
  LineFramer framer(1024);
  const std::string chunk(4096, 'z');
  std::vector<Frame> frames;
  for (int i = 0; i < 64; ++i) {
    framer.feed_view(chunk);
    while (auto frame = framer.next_view()) frames.emplace_back(std::get<LineTooLong>(*frame));
    EXPECT_EQ(framer.partial_bytes(), 0u);
  }
  EXPECT_EQ(frames, std::vector<Frame>{LineTooLong{4096}});
  framer.feed_view("tail\nok\n");
  EXPECT_EQ(std::get<std::string_view>(*framer.next_view()), "ok");
}

TEST(LineFramerViews, ResetDropsUnscannedBytes) {
  LineFramer framer;
  std::string bytes = "a\nb\n";
  framer.feed_view(bytes);
  framer.keep_unscanned();
  framer.reset();
  EXPECT_FALSE(framer.has_unscanned());
  EXPECT_FALSE(framer.next_view().has_value());
}

}  // namespace
}  // namespace ktstats
