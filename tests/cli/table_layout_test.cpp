// The table and the live view's frames, from a payload and a schema: column
// groups for narrow windows, changed values marked, nothing wider or taller
// than the window, nothing raw from the guest.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "render/render.hpp"
#include "render/watch_screen.hpp"

namespace ktstats::cli {
namespace {

StatsMeta schema() {
  auto meta = parse_stats_meta(boost::json::parse(R"({
    "Top": {"top": null, "fields": {
      "nr": {"datum": "u64", "desc": "A number"},
      "cpus": {"array": {"struct": "Cpu"}, "desc": "Per CPU"},
      "weights": {"dict": {"key": "string", "datum": "u64"}, "desc": "Weights"}}},
    "Cpu": {"fields": {
      "busy": {"datum": "float", "desc": "Busy share"},
      "queue_length": {"datum": "u64", "desc": "Tasks queued"},
      "name": {"datum": "string", "desc": "Its name"}}}})"));
  return std::move(*meta);
}

const boost::json::value kPayload = boost::json::parse(R"({
  "nr": 2,
  "cpus": [{"busy": 0.5, "queue_length": 10, "name": "a"},
           {"busy": 12.25, "queue_length": 3, "name": "b\u001b[2J"}],
  "weights": {"x": 1, "y": 20}})");

std::string text_of(const std::vector<TableLine>& lines) {
  std::string out;
  for (const auto& line : lines) {
    for (const auto& span : line) out += span.marked ? "<" + span.text + ">" : span.text;
    out += '\n';
  }
  return out;
}

TableModel model() {
  const auto meta = schema();
  return build_table_model(kPayload, meta, *meta.top());
}

TEST(TableLayout, ArraysOfStructsAndDictsOfNumbersAreSubTables) {
  EXPECT_EQ(text_of(layout_table(model(), 0)),
            "FIELD  VALUE  DESCRIPTION\n"
            "nr     2      A number\n"
            "\n"
            "cpus: Per CPU\n"
            "INDEX   busy  queue_length  name\n"
            "0        0.5            10  a\n"
            "1      12.25             3  b\\x1b[2J\n"
            "  busy          Busy share\n"
            "  queue_length  Tasks queued\n"
            "  name          Its name\n"
            "\n"
            "weights: Weights\n"
            "KEY  value\n"
            "x        1\n"
            "y       20\n");
}

TEST(TableLayout, ColumnsBeyondTheWidthGoToAnotherGroupWithTheKeyRepeated) {
  const std::string text = text_of(layout_table(model(), 28));
  EXPECT_NE(text.find("cpus: Per CPU\n"
                      "INDEX   busy  queue_length\n"
                      "0        0.5            10\n"
                      "1      12.25             3\n"
                      "\n"
                      "cpus: Per CPU (continued)\n"
                      "INDEX  name\n"
                      "0      a\n"
                      "1      b\\x1b[2J\n"),
            std::string::npos)
      << text;
}

TEST(TableLayout, ChangedValuesAreMarkedFromTheSecondSampleOn) {
  const auto meta = schema();
  ChangeTracker tracker;
  EXPECT_TRUE(tracker.update(build_table_model(kPayload, meta, *meta.top())).empty());
  auto next = kPayload;
  next.at("cpus").at(1).at("queue_length") = 4;
  next.at("weights").as_object()["z"] = 5;
  const auto later = build_table_model(next, meta, *meta.top());
  const auto changed = tracker.update(later);
  EXPECT_EQ(changed, (std::set<std::string>{"cpus[1].queue_length", "weights[z]"}));
  const std::string text = text_of(layout_table(later, 0, changed));
  EXPECT_NE(text.find("1      12.25             <4>  b"), std::string::npos) << text;
  EXPECT_NE(text.find("z        <5>"), std::string::npos) << text;
  EXPECT_NE(text.find("nr     2 "), std::string::npos) << text;
}

TEST(WatchScreen, FrameFitsTheWindowAndMarksInReverseVideo) {
  const auto meta = schema();
  ChangeTracker tracker;
  tracker.update(model());
  auto next = kPayload;
  next.at("nr") = 3;
  const auto later = build_table_model(next, meta, *meta.top());
  const auto lines = layout_table(later, 20, tracker.update(later));
  const std::string frame = compose_frame("header line that is too long", lines, {20, 6});
  EXPECT_EQ(frame.rfind("\x1b[H", 0), 0u);
  EXPECT_NE(frame.find("nr     \x1b[7m3\x1b[27m"), std::string::npos) << frame;
  // Six rows: the header, a blank line, three of the table, and the note.
  EXPECT_NE(frame.find("header line that is \r\n"), std::string::npos) << frame;
  EXPECT_NE(frame.find("\r\n... 22 more lines: e\x1b[J"), std::string::npos) << frame;
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 5) << frame;
  // The only escapes are the view's own: home, clear, reverse video.
  std::string rest = frame;
  for (const char* own : {"\x1b[H", "\x1b[K", "\x1b[J", "\x1b[7m", "\x1b[27m"}) {
    for (auto at = rest.find(own); at != std::string::npos; at = rest.find(own)) {
      rest.erase(at, std::string(own).size());
    }
  }
  EXPECT_EQ(rest.find('\x1b'), std::string::npos) << rest;
}

}  // namespace
}  // namespace ktstats::cli
