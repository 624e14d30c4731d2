// ktstats against code nobody here wrote: upstream's example scx_stats
// server and session_server, a scheduler-like server built on the upstream
// crate (see ../shared/upstream/README.md), directly (scx:) and through
// ktstats-relay behind a stand-in VMM. Answers are compared parsed: key
// order is not part of the protocol.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include <boost/json/parse.hpp>

#include "line_peer.hpp"
#include "upstream.hpp"

namespace ktstats::test {
namespace {

// Every bad request the upstream server answers (with EINVAL), as `ktstats
// raw` can send it; the empty line is the one more (see BlankLine below).
const std::vector<std::string> kBadRequests = {
    "hello",                                         // not JSON
    R"({"req":"nope"})",                             // unknown verb
    R"({"req":"stats","args":{"target":"nope"}})",   // unknown target
    R"({"req":"stats","args":{"target":1}})",        // an arg that is not a string
    R"({"req":"stats","req":"stats_meta"})",         // req twice
    R"({"req":"stats_meta"} x)",                     // trailing characters
};

// What a stats answer of session_server says about the connection it came
// on, which differs between two connections.
const std::set<std::string> kConnectionCounters = {"session_id", "sessions_opened", "total_reads"};

boost::json::object without_connection_counters(const boost::json::value& stats) {
  boost::json::object object = stats.as_object();
  for (const auto& key : kConnectionCounters) object.erase(key);
  return object;
}

std::vector<boost::json::value> json_lines(const std::string& text) {
  std::vector<boost::json::value> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(json_of(line));
  return lines;
}

class Upstream : public UpstreamFixture, public ::testing::WithParamInterface<Route> {
 protected:
  Upstream() : UpstreamFixture(GetParam()) {}
};

INSTANTIATE_TEST_SUITE_P(Routes, Upstream, ::testing::Values(Route::kDirect, Route::kRelay),
                         [](const auto& info) {
                           return info.param == Route::kDirect ? "Direct" : "ThroughTheRelay";
                         });

TEST_P(Upstream, StatsJsonAndPrettyAreTheServersResp) {
  start_example_server();
  const auto expected = upstream_resp(R"({"req":"stats"})");
  for (const char* format : {"json", "pretty"}) {
    auto r = ktstats({"stats", "--format", format});
    ASSERT_EQ(r.status, 0) << format << ": " << r.err;
    EXPECT_EQ(json_of(r.out), expected) << format << ": " << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST_P(Upstream, MetaJsonIsTheServersStatsMeta) {
  start_example_server();
  auto example = ktstats({"meta"});
  ASSERT_EQ(example.status, 0) << example.err;
  EXPECT_EQ(json_of(example.out), upstream_resp(R"({"req":"stats_meta"})"));
}

TEST_P(Upstream, SessionServerStatsAndMeta) {
  start_session_server();
  auto meta = ktstats({"meta", "--format", "pretty"});
  ASSERT_EQ(meta.status, 0) << meta.err;
  EXPECT_EQ(json_of(meta.out), upstream_resp(R"({"req":"stats_meta"})"));

  // The args reach the scheduler as given (it echoes them).
  auto stats = ktstats({"stats", "--target", "top", "--arg", "x=y z"});
  ASSERT_EQ(stats.status, 0) << stats.err;
  const auto ours = json_of(stats.out);
  const auto theirs = upstream_resp(R"({"req":"stats","args":{"target":"top","x":"y z"}})");
  EXPECT_EQ(without_connection_counters(ours), without_connection_counters(theirs)) << stats.out;
  EXPECT_EQ(ours.at("args"), json_of(R"({"target":"top","x":"y z"})"));
  EXPECT_EQ(ours.at("reads_delta"), 1);
  EXPECT_EQ(ours.at("session_reads"), 1);
}

TEST_P(Upstream, DescribeIsUpstreamsDescribeMeta) {
  start_example_server();
  // The example server writes upstream's describe_meta on stderr at start.
  const auto upstream_describe = without_trailing_blanks(server->stderr_text());
  ASSERT_EQ(upstream_describe.rfind("[ClusterStats]", 0), 0u) << upstream_describe;
  auto r = ktstats({"meta", "--describe"});
  ASSERT_EQ(r.status, 0) << r.err;
  // Upstream pads a field without a description to the full width; ktstats
  // leaves those trailing blanks out.
  EXPECT_EQ(r.out, upstream_describe);
}

TEST_P(Upstream, DescribeOfASchedulerLikeServer) {
  start_session_server();
  auto r = ktstats({"meta", "--describe"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "[SessionStats] session scheduler statistics\n"
            "  args            ({string:string})     : the args of the request, as received\n"
            "  layers          ({string:LayerStats}) : per-layer statistics\n"
            "  reads_delta     (u64)                 : reads since the previous read on this connection\n"
            "  session_id      (u64)                 : connection this answer belongs to\n"
            "  session_reads   (u64)                 : reads on this connection\n"
            "  sessions_opened (u64)                 : connections opened so far\n"
            "  total_reads     (u64)                 : stats reads served on all connections\n"
            "\n"
            "[LayerStats  ] per-layer statistics\n"
            "  nr_tasks        (u64)                 : tasks in the layer\n"
            "  util            (float)               : layer utilisation in percent\n");
}

TEST_P(Upstream, Table) {
  start_example_server();
  auto r = ktstats({"stats", "--format", "table"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "FIELD  VALUE         DESCRIPTION\n"
            "at     12345         update timestamp\n"
            "name   test cluster\n"
            "\n"
            "bitmap: some bitmap we want to report\n"
            "INDEX       value\n"
            "0      3735928559\n"
            "1      3203391149\n"
            "\n"
            "doms_dict: domain statistics\n"
            "KEY  events  name      pressure\n"
            "0      1234  domain 0     1.234\n"
            "3      5678  domain 3     5.678\n"
            "  events    an event counter\n"
            "  pressure  a gauge number\n");
}

// Values and labels are checked against upstream's own mapping by
// check-openmetrics-parity; here, that the command gives a whole exposition.
TEST_P(Upstream, OpenMetrics) {
  start_example_server();
  auto r = ktstats({"stats", "--format", "openmetrics"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\nd_events{domain_name=\"3\"} 5678\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 6), "# EOF\n") << r.out;
}

TEST_P(Upstream, RawGetsTheServersAnswer) {
  start_example_server();
  for (const char* line : {R"({"req":"stats"})", R"({"req":"stats_meta","args":{}})"}) {
    auto r = ktstats({"raw", line});
    ASSERT_EQ(r.status, 0) << line << ": " << r.err;
    EXPECT_EQ(json_of(r.out), json_of(upstream_answer(line))) << line;
  }
}

TEST_P(Upstream, EveryBadRequestGetsUpstreamsAnswer) {
  start_session_server();
  for (const auto& line : kBadRequests) {
    const auto expected = json_of(upstream_answer(line));
    ASSERT_EQ(expected.at("errno"), 22) << line;
    auto r = ktstats({"raw", line});
    EXPECT_EQ(r.status, 65) << line << ": " << r.err;
    EXPECT_EQ(json_of(r.out), expected) << line;
  }
}

TEST_P(Upstream, InvalidUtf8ClosesTheConnection) {
  start_session_server();
  const std::string line = "{\"req\":\"stats\",\"args\":{\"x\":\"\xff\"}}";
  auto peer = LinePeer::connect(server_socket);
  ASSERT_TRUE(peer.send_line(line));
  EXPECT_TRUE(peer.closed_within(10s)) << "upstream answered invalid UTF-8";
  // Directly the connection closes; through the relay, its error line of
  // kind closed says so: an I/O error either way.
  auto r = ktstats({"raw", line});
  EXPECT_EQ(r.status, 74) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("closed"), std::string::npos) << r.err;
}

TEST_P(Upstream, SchedulerErrorsExit65AsLines) {
  start_session_server();
  auto busy = ktstats({"stats", "--target", "busy"});
  EXPECT_EQ(busy.status, 65);
  EXPECT_EQ(busy.out, "");
  EXPECT_EQ(busy.err,
            "ktstats: scheduler returned EINVAL (Invalid argument): Device or resource busy (os "
            "error 16) (check --target and --arg)\n");

  auto unknown = ktstats({"stats", "--target", "nope"});
  EXPECT_EQ(unknown.status, 65);
  EXPECT_EQ(unknown.err,
            "ktstats: scheduler returned EINVAL (Invalid argument): Invalid argument (os error 22)\n"
            "\n"
            "  Caused by:\n"
            "      unknown stat target StatsRequest { req: \"stats\", args: {\"target\": \"nope\"} }\n"
            "  (check --target and --arg)\n");

  auto verb = ktstats({"raw", R"({"req":"nope"})"});
  EXPECT_EQ(verb.status, 65);
  EXPECT_EQ(json_of(verb.out).at("args").at("resp"),
            "Invalid argument (os error 22)\n\nCaused by:\n    unknown command \"nope\"");
}

TEST_P(Upstream, WatchKeepsOneSchedulerConnection) {
  start_session_server();
  auto r = ktstats({"watch", "--format", "json", "--count", "3", "--interval", "20ms"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto samples = json_lines(r.out);
  ASSERT_EQ(samples.size(), 3u) << r.out;
  const auto session = samples[0].at("stats").at("session_id");
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& stats = samples[i].at("stats");
    EXPECT_EQ(stats.at("session_id"), session) << r.out;
    EXPECT_EQ(stats.at("reads_delta"), 1) << r.out;
    EXPECT_EQ(stats.at("session_reads"), i + 1) << r.out;
  }
  auto next = ktstats({"stats"});
  ASSERT_EQ(next.status, 0) << next.err;
  EXPECT_NE(json_of(next.out).at("session_id"), session) << next.out;
  EXPECT_EQ(json_of(next.out).at("session_reads"), 1) << next.out;
}

TEST_P(Upstream, WatchInEveryFormat) {
  start_session_server();
  for (const char* format : {"pretty", "table", "openmetrics"}) {
    auto r = ktstats({"watch", "--format", format, "--count", "2", "--interval", "20ms"});
    ASSERT_EQ(r.status, 0) << format << ": " << r.err;
    EXPECT_NE(r.out.find("reads_delta"), std::string::npos) << format << ": " << r.out;
  }
  auto failing = ktstats({"watch", "--target", "busy", "--count", "2", "--interval", "20ms"});
  EXPECT_EQ(failing.status, 65) << failing.err;
}

TEST_P(Upstream, PingOnlyThroughTheRelay) {
  start_session_server();
  auto r = ktstats({"ping"});
  if (GetParam() == Route::kDirect) {
    EXPECT_EQ(r.status, 64) << r.err;
  } else {
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json_of(r.out).at("relay"), "ktstats-relay");
  }
}

// The relay with a host that speaks plain scx_stats lines on the port.
class UpstreamRelay : public UpstreamFixture {
 protected:
  UpstreamRelay() : UpstreamFixture(Route::kRelay) {}

  // One line to the relay, the next line back.
  std::optional<std::string> ask(LinePeer& host, const std::string& line) {
    EXPECT_TRUE(host.send_line(line));
    return host.read_line();
  }
};

TEST_F(UpstreamRelay, BadRequestsPassThroughAndTheNextIsAnsweredRight) {
  start_session_server();
  const std::string meta = R"({"req":"stats_meta"})";
  const auto meta_answer = upstream_answer(meta);
  auto host = LinePeer::connect(vm_socket);
  for (const auto& line : kBadRequests) {
    // Byte for byte: the relay never re-encodes a scheduler's line.
    EXPECT_EQ(ask(host, line), upstream_answer(line)) << line;
    EXPECT_EQ(ask(host, meta), meta_answer) << "after " << line;
  }
}

// Upstream answers an empty line with EINVAL; the relay drops blank lines
// unanswered (docs/PROTOCOL.md says why), and stays in step.
TEST_F(UpstreamRelay, BlankLinesAreDroppedAndTheNextIsAnsweredRight) {
  start_session_server();
  EXPECT_EQ(json_of(upstream_answer("")).at("args").at("resp"),
            "EOF while parsing a value at line 2 column 0");
  const std::string meta = R"({"req":"stats_meta"})";
  auto host = LinePeer::connect(vm_socket);
  ASSERT_TRUE(host.write("\n \t\r\n\r\n"));
  EXPECT_EQ(ask(host, meta), upstream_answer(meta));
}

// Upstream closes the connection on invalid UTF-8; the relay answers in its
// place with its error line of kind closed, and the session's next request
// gets a new scheduler connection.
TEST_F(UpstreamRelay, InvalidUtf8IsAnsweredClosedAndTheNextIsAnsweredRight) {
  start_session_server();
  auto host = LinePeer::connect(vm_socket);
  auto first = ask(host, R"({"req":"stats"})");
  ASSERT_TRUE(first.has_value());
  const auto before = json_of(*first).at("args").at("resp").at("session_id");
  auto answer = ask(host, "{\"req\":\"stats\",\"args\":{\"x\":\"\xff\"}}");
  ASSERT_TRUE(answer.has_value());
  const auto error = json_of(*answer);
  EXPECT_TRUE(error.as_object().contains("ktstr_relay_error")) << *answer;
  EXPECT_EQ(error.at("kind"), "closed") << *answer;
  auto next = ask(host, R"({"req":"stats"})");
  ASSERT_TRUE(next.has_value());
  const auto stats = json_of(*next).at("args").at("resp");
  EXPECT_NE(stats.at("session_id"), before) << *next;
  EXPECT_EQ(stats.at("session_reads"), 1) << *next;
}

}  // namespace
}  // namespace ktstats::test
