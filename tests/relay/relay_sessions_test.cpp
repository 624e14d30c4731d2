// ktstats-relay's sessions (docs/PROTOCOL.md) as a real process: one host
// connection on a Unix-socket port carries many sessions, each with its own
// scheduler connection, and every line is answered in the order sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"
#include "relay_fixture.hpp"
#include "upstream.hpp"

namespace ktstats::test {
namespace {

constexpr const char* kStats = R"({"req":"stats"})";
constexpr const char* kLayers = R"({"req":"stats","args":{"target":"layers"}})";
constexpr std::uint64_t kDefaultMaxSessions = 64;
// Requests of one session that may wait behind the one in progress.
constexpr int kQueueBound = 64;

std::string open_line(const std::string& id) { return encode_control_line(OpenLine{id}); }
std::string select_line(const std::string& id) { return encode_control_line(SelectLine{id}); }
std::string close_line(const std::string& id) { return encode_control_line(CloseLine{id}); }

// The echoes as docs/PROTOCOL.md spells them, byte for byte.
std::string open_echo(const std::string& id, std::uint64_t max_sessions) {
  return R"({"ktstats_open":")" + id + R"(","relay":"ktstats-relay","version":")" +
         KTSTATS_VERSION + R"(","max_sessions":)" + std::to_string(max_sessions) + "}";
}
std::string close_echo(const std::string& id) { return R"({"ktstats_close":")" + id + "\"}"; }
std::string sync_echo(const std::string& nonce) {
  return R"({"ktstats_sync":")" + nonce + R"(","relay":"ktstats-relay","version":")" +
         KTSTATS_VERSION + "\"}";
}

// The "kind" of a relay error line, or "" if the line is none.
std::string kind_of(const std::string& answer) {
  auto parsed = parse_json_line(answer);
  if (!parsed) return "";
  auto error = decode_relay_error(*parsed);
  if (!error || !error->kind) return "";
  return std::string(relay_error_kind_name(*error->kind));
}

class RelaySessions : public RelayFixture {
 protected:
  // All lines in one write, so that the relay may take them in at once.
  static void send_burst(LinePeer& host, const std::vector<std::string>& lines) {
    std::string burst;
    for (const auto& line : lines) burst += line + "\n";
    ASSERT_TRUE(host.write(burst));
  }

  // Up to `count` lines; fewer if one does not come in time.
  static std::vector<std::string> read_lines(LinePeer& host, std::size_t count) {
    std::vector<std::string> lines;
    while (lines.size() < count) {
      auto line = host.read_line();
      if (!line) break;
      lines.push_back(std::move(*line));
    }
    return lines;
  }

  // Upstream's scheduler-like server on the scheduler socket; false (and
  // the test skipped) where the upstream folder is absent.
  bool start_session_server() {
    const auto server = upstream_program("scx_stats/bin/session_server");
    if (!server) return false;
    scheduler.emplace(Process::spawn({*server, scheduler_socket}));
    EXPECT_TRUE(scheduler->wait_for_stderr("ready " + scheduler_socket)) << scheduler->stderr_text();
    return true;
  }
};

// Session ids s00, s01, ...
std::vector<std::string> session_ids(int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) ids.push_back((i < 10 ? "s0" : "s") + std::to_string(i));
  return ids;
}

// One round of requests across sessions: every session once in a shuffled
// order, some twice in a row, so that sessions alternate and a select line
// is sometimes left out because the session is already selected.
std::vector<int> interleaved_round(int sessions, int round) {
  std::vector<int> order(static_cast<std::size_t>(sessions));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 random(static_cast<std::mt19937::result_type>(round) + 1);
  std::shuffle(order.begin(), order.end(), random);
  std::vector<int> schedule;
  for (int session : order) {
    schedule.push_back(session);
    if ((session + round) % 3 == 0) schedule.push_back(session);
  }
  return schedule;
}

// Opens `ids` with one burst and checks their echoes, in order; the last
// one is selected afterwards.
void open_all(LinePeer& host, const std::vector<std::string>& ids, std::uint64_t max_sessions) {
  std::vector<std::string> opens;
  for (const auto& id : ids) opens.push_back(open_line(id));
  std::string burst;
  for (const auto& line : opens) burst += line + "\n";
  ASSERT_TRUE(host.write(burst));
  for (const auto& id : ids) {
    auto echo = host.read_line();
    ASSERT_TRUE(echo.has_value()) << "no echo for " << id;
    ASSERT_EQ(*echo, open_echo(id, max_sessions));
  }
}

// Sends `rounds` interleaved rounds over the open sessions `ids` (the last
// one selected), one burst each, and hands every answer to `check` with
// its session and its place among all requests (1, 2, ...).
template <typename Check>
void run_interleaved_rounds(LinePeer& host, const std::vector<std::string>& ids, int rounds,
                            Check check) {
  int selected = static_cast<int>(ids.size()) - 1;
  std::int64_t sent = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto schedule = interleaved_round(static_cast<int>(ids.size()), round);
    std::string burst;
    for (int session : schedule) {
      if (session != selected) burst += select_line(ids[static_cast<std::size_t>(session)]) + "\n";
      selected = session;
      burst += std::string(kStats) + "\n";
    }
    ASSERT_TRUE(host.write(burst));
    for (int session : schedule) {
      auto answer = host.read_line();
      ASSERT_TRUE(answer.has_value()) << "round " << round << ": answer " << sent + 1 << " missing";
      ++sent;
      SCOPED_TRACE("round " + std::to_string(round) + ", request " + std::to_string(sent) +
                   ", session " + ids[static_cast<std::size_t>(session)] + ": " + *answer);
      check(*answer, session, sent);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST_F(RelaySessions, FiftySessionsInterleavedEachAnsweredOnItsOwnConnection) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  const auto ids = session_ids(50);
  open_all(host, ids, kDefaultMaxSessions);
  ASSERT_FALSE(HasFatalFailure());
  // The fake scheduler counts requests on all connections (total_requests)
  // and per connection (session_reads, and requests_delta since the
  // connection's previous read): with answers in request order, the host
  // can tell exactly which connection answered.
  struct Reads {
    std::int64_t count = 0;
    std::int64_t last = 0;
  };
  std::vector<Reads> reads(ids.size());
  run_interleaved_rounds(host, ids, 4, [&](const std::string& answer, int session, std::int64_t index) {
    ASSERT_EQ(relay_error(answer), "");
    const auto stats = payload(answer);
    auto& mine = reads[static_cast<std::size_t>(session)];
    ASSERT_EQ(field(stats, "total_requests"), index) << "answered out of order";
    ASSERT_EQ(field(stats, "session_reads"), ++mine.count) << "another session's connection";
    ASSERT_EQ(field(stats, "requests_delta"), index - mine.last) << "another session's connection";
    mine.last = index;
  });
}

TEST_F(RelaySessions, FiftySessionsOnTheUpstreamServerEachHaveTheirOwnReader) {
  if (!start_session_server()) GTEST_SKIP() << "no ../shared/upstream/scx_stats/bin/session_server";
  start_relay();
  auto host = next_session();
  const auto ids = session_ids(50);
  open_all(host, ids, kDefaultMaxSessions);
  ASSERT_FALSE(HasFatalFailure());
  // The server opens a reader (a "session" of its own, numbered from 1) on
  // a connection's first stats request; reads_delta counts reads on all
  // connections since this connection's previous one, so 1 whenever a
  // session reads twice in a row.
  struct Reader {
    std::int64_t id = 0;
    std::int64_t reads = 0;
    std::int64_t last = 0;
  };
  std::vector<Reader> readers(ids.size());
  std::set<std::int64_t> server_ids;
  run_interleaved_rounds(host, ids, 4, [&](const std::string& answer, int session, std::int64_t index) {
    ASSERT_EQ(relay_error(answer), "");
    const auto stats = payload(answer);
    auto& mine = readers[static_cast<std::size_t>(session)];
    ASSERT_EQ(field(stats, "total_reads"), index) << "answered out of order";
    if (mine.reads == 0) {
      mine.id = field(stats, "session_id");
      ASSERT_TRUE(server_ids.insert(mine.id).second) << "session_id " << mine.id << " shared";
      ASSERT_EQ(field(stats, "sessions_opened"), static_cast<std::int64_t>(server_ids.size()))
          << "the server opened more than one reader for a session";
      ASSERT_EQ(field(stats, "reads_delta"), 1);
    } else {
      ASSERT_EQ(field(stats, "session_id"), mine.id) << "another session's connection";
      ASSERT_EQ(field(stats, "sessions_opened"), static_cast<std::int64_t>(server_ids.size()));
      ASSERT_EQ(field(stats, "reads_delta"), index - mine.last);
    }
    ASSERT_EQ(field(stats, "session_reads"), ++mine.reads);
    mine.last = index;
  });
  EXPECT_EQ(server_ids.size(), ids.size());
}

TEST_F(RelaySessions, ReopenedSessionIsANewReaderOnTheUpstreamServer) {
  if (!start_session_server()) GTEST_SKIP() << "no ../shared/upstream/scx_stats/bin/session_server";
  start_relay();
  auto host = next_session();
  send_burst(host, {open_line("a"), kStats, kStats, close_line("a"), open_line("a"), kStats});
  const auto lines = read_lines(host, 6);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], open_echo("a", kDefaultMaxSessions));
  EXPECT_EQ(field(payload(lines[1]), "session_id"), 1);
  EXPECT_EQ(field(payload(lines[2]), "session_reads"), 2);
  EXPECT_EQ(lines[3], close_echo("a"));
  EXPECT_EQ(lines[4], open_echo("a", kDefaultMaxSessions));
  const auto fresh = payload(lines[5]);
  EXPECT_EQ(field(fresh, "session_id"), 2) << "the closed session's connection was kept";
  EXPECT_EQ(field(fresh, "sessions_opened"), 2);
  EXPECT_EQ(field(fresh, "session_reads"), 1);
}

// Each cycle opens a session under a new id, reads once (a fresh scheduler
// connection: session_reads 1) and closes it. Measured at rest, after a
// close echo, the relay holds the same descriptors; its RSS may grow by
// 32 KiB at most over 1,000 cycles: a leak of 32 bytes a cycle (a session
// record, an id, a buffer) would pass that, allocator noise stays well
// inside it. Sanitizer builds carry shadow memory and are not measured.
TEST_F(RelaySessions, ThousandOpenCloseCyclesKeepDescriptorsAndMemoryFlat) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  int next = 0;
  auto cycles = [&](int count) {
    constexpr int kPerBurst = 10;
    for (int done = 0; done < count; done += kPerBurst) {
      std::vector<std::string> ids, lines;
      for (int i = 0; i < kPerBurst; ++i) {
        ids.push_back("cycle-" + std::to_string(next++));
        lines.insert(lines.end(), {open_line(ids.back()), kStats, close_line(ids.back())});
      }
      send_burst(host, lines);
      const auto answers = read_lines(host, lines.size());
      ASSERT_EQ(answers.size(), lines.size()) << "cycle " << next;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        ASSERT_EQ(answers[3 * i], open_echo(ids[i], kDefaultMaxSessions));
        ASSERT_EQ(field(payload(answers[3 * i + 1]), "session_reads"), 1) << ids[i];
        ASSERT_EQ(answers[3 * i + 2], close_echo(ids[i]));
      }
    }
  };
  cycles(100);
  ASSERT_FALSE(HasFatalFailure());
  const auto fds = open_fd_count(relay->pid());
  const auto rss = rss_kib(relay->pid());
  cycles(1000);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(open_fd_count(relay->pid()), fds);
  if (!kSanitizerBuild) {
    EXPECT_LE(rss_kib(relay->pid()), rss + 32) << "RSS grew from " << rss << " KiB";
  }
}

TEST_F(RelaySessions, OpenPastMaxSessionsIsSessionLimitThenNoSessionInOrder) {
  start_scheduler();
  start_relay({"--max-sessions", "4"});
  auto host = next_session();
  send_burst(host, {open_line("s0"), open_line("s1"), open_line("s2"), open_line("s3"),
                    open_line("s4"), kStats, kStats, select_line("s1"), kStats, close_line("s0")});
  const auto lines = read_lines(host, 9);
  ASSERT_EQ(lines.size(), 9u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(lines[i], open_echo("s" + std::to_string(i), 4));
  EXPECT_EQ(kind_of(lines[4]), "session_limit") << lines[4];
  // The refused open selected nothing: its requests never reach a scheduler.
  EXPECT_EQ(kind_of(lines[5]), "no_session") << lines[5];
  EXPECT_EQ(kind_of(lines[6]), "no_session") << lines[6];
  const auto s1 = payload(lines[7]);
  EXPECT_EQ(field(s1, "session_reads"), 1);
  EXPECT_EQ(field(s1, "total_requests"), 1);
  EXPECT_EQ(lines[8], close_echo("s0"));
  // A closed session frees its place.
  EXPECT_EQ(ask(host, open_line("s4")), open_echo("s4", 4));
  const auto s4 = payload(ask(host, kStats));
  EXPECT_EQ(field(s4, "session_reads"), 1);
  EXPECT_EQ(field(s4, "total_requests"), 2);
}

// Lines take effect in the order sent, as their answers come: an open sent
// right behind a close, before the close's echo came back, finds the closed
// session's place free, even while a request sent before the close is
// still being served.
TEST_F(RelaySessions, OpenPipelinedBehindACloseTakesTheClosedPlace) {
  start_scheduler();
  start_relay({"--max-sessions", "2"});
  auto host = next_session();
  send_burst(host, {open_line("a"), open_line("b"), R"({"req":"stats","args":{"fault":"delay:200"}})",
                    close_line("a"), open_line("c"), kStats});
  const auto lines = read_lines(host, 6);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], open_echo("a", 2));
  EXPECT_EQ(lines[1], open_echo("b", 2));
  EXPECT_EQ(field(payload(lines[2]), "session_reads"), 1) << lines[2];
  EXPECT_EQ(lines[3], close_echo("a"));
  ASSERT_EQ(lines[4], open_echo("c", 2)) << "a was closed before c's open";
  EXPECT_EQ(field(payload(lines[5]), "session_reads"), 1) << lines[5];
}

// Session a's first request takes a second, ample time for the relay
// to take in the whole burst behind it however loaded the machine: a's
// queue then holds exactly its bound, the rest of a's requests are refused
// in their turn, and b's requests, interleaved with them, are served.
TEST_F(RelaySessions, QueueBoundIsPerSessionAndRefusalsComeInOrder) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  open_all(host, {"a", "b"}, kDefaultMaxSessions);
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::string> burst{select_line("a"), R"({"req":"stats","args":{"fault":"delay:1000"}})"};
  burst.insert(burst.end(), 79, kStats);
  burst.insert(burst.end(), {select_line("b"), kStats, select_line("a")});
  burst.insert(burst.end(), 20, kStats);
  burst.insert(burst.end(), {select_line("b"), kStats, kStats});
  send_burst(host, burst);

  const auto lines = read_lines(host, 103);
  ASSERT_EQ(lines.size(), 103u);
  std::size_t at = 0;
  for (int i = 1; i <= kQueueBound + 1; ++i, ++at) {
    ASSERT_EQ(relay_error(lines[at]), "") << "a's request " << i << ": " << lines[at];
    ASSERT_EQ(field(payload(lines[at]), "session_reads"), i);
  }
  for (int i = 0; i < 80 - (kQueueBound + 1); ++i, ++at) {
    ASSERT_EQ(kind_of(lines[at]), "queue_full") << "line " << at << ": " << lines[at];
  }
  EXPECT_EQ(field(payload(lines[at++]), "session_reads"), 1) << "b's first request";
  for (int i = 0; i < 20; ++i, ++at) {
    ASSERT_EQ(kind_of(lines[at]), "queue_full") << "line " << at << ": " << lines[at];
  }
  EXPECT_EQ(field(payload(lines[at++]), "session_reads"), 2);
  EXPECT_EQ(field(payload(lines[at++]), "session_reads"), 3);
  // a's queue has drained: a is served again.
  send_burst(host, {select_line("a"), kStats});
  EXPECT_EQ(field(payload(host.read_line().value_or("")), "session_reads"), kQueueBound + 2);
}

// Lines exactly as ktstr's client sends them: no sync, no open.
TEST_F(RelaySessions, PlainScxStatsLinesGetTheImplicitSession) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  send_burst(host, {kStats, R"({"req":"stats_meta"})", kLayers, kStats});
  const auto lines = read_lines(host, 4);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(field(payload(lines[0]), "session_reads"), 1);
  EXPECT_TRUE(payload(lines[1]).as_object().contains("Metrics")) << lines[1];
  EXPECT_TRUE(payload(lines[2]).as_object().contains("batch")) << lines[2];
  EXPECT_EQ(field(payload(lines[3]), "session_reads"), 2) << "one scheduler connection throughout";
}

// An older ktstats syncs; its sync line selects the implicit session, which
// keeps its connection beside explicit sessions while the nonce stays. A
// new nonce ends the implicit session and drops what is queued for it, so
// it is sent, as ktstats 0.1 does, once every answer is in.
TEST_F(RelaySessions, SyncHostsKeepWorkingBesideExplicitSessions) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  send_burst(host, {encode_sync_request("n1"), kStats, open_line("x"), kStats,
                    encode_sync_request("n1"), kStats, select_line("x"), kStats});
  const auto lines = read_lines(host, 7);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], sync_echo("n1"));
  EXPECT_EQ(field(payload(lines[1]), "session_reads"), 1);
  EXPECT_EQ(lines[2], open_echo("x", kDefaultMaxSessions));
  EXPECT_EQ(field(payload(lines[3]), "session_reads"), 1) << "x has a connection of its own";
  EXPECT_EQ(lines[4], sync_echo("n1"));
  EXPECT_EQ(field(payload(lines[5]), "session_reads"), 2) << "the same nonce: the same session";
  EXPECT_EQ(field(payload(lines[6]), "session_reads"), 2) << "x's connection";
  EXPECT_EQ(ask(host, encode_sync_request("n2")), sync_echo("n2"));
  EXPECT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1) << "a new nonce: a new implicit session";
  send_burst(host, {select_line("x"), kStats});
  EXPECT_EQ(field(payload(host.read_line().value_or("")), "session_reads"), 3)
      << "x outlives the implicit session";
}

TEST_F(RelaySessions, RequestsForASessionNotOpenAreNoSession) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  send_burst(host, {select_line("never"), kStats, open_line("a"), close_line("a"), kStats,
                    select_line("a"), kStats, close_line("gone"), open_line("b"), kStats});
  const auto lines = read_lines(host, 8);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(kind_of(lines[0]), "no_session") << lines[0];
  EXPECT_EQ(lines[1], open_echo("a", kDefaultMaxSessions));
  EXPECT_EQ(lines[2], close_echo("a"));
  EXPECT_EQ(kind_of(lines[3]), "no_session") << "closing the selected session selects nothing: " << lines[3];
  EXPECT_EQ(kind_of(lines[4]), "no_session") << "a is closed: " << lines[4];
  EXPECT_EQ(lines[5], close_echo("gone")) << "closing an id not open is answered too";
  EXPECT_EQ(lines[6], open_echo("b", kDefaultMaxSessions));
  EXPECT_EQ(field(payload(lines[7]), "total_requests"), 1) << "no_session requests reached the scheduler";
}

constexpr const char* kAnswerOne = R"({"errno":0,"args":{"resp":1}})";
constexpr const char* kAnswerTwo = R"({"errno":0,"args":{"resp":2}})";
constexpr const char* kAnswerThree = R"({"errno":0,"args":{"resp":3}})";

// The test plays the scheduler: it sees each of the relay's connections
// open, carry its requests and close.
class RelaySessionsScripted : public RelaySessions {
 protected:
  LinePeer accept_relay() { return accept_relay_at(scheduler_listener); }

  Listener scheduler_listener{scheduler_socket};
};

TEST_F(RelaySessionsScripted, CloseAnswersEarlierRequestsThenClosesOnlyItsConnection) {
  start_relay();
  auto host = next_session();
  send_burst(host, {open_line("a"), kStats});
  auto link_a = accept_relay();
  ASSERT_EQ(link_a.read_line(), kStats);
  ASSERT_TRUE(link_a.send_line(kAnswerOne));
  EXPECT_EQ(host.read_line(), open_echo("a", kDefaultMaxSessions));
  EXPECT_EQ(host.read_line(), kAnswerOne);

  send_burst(host, {open_line("b"), kStats});
  auto link_b = accept_relay();
  ASSERT_EQ(link_b.read_line(), kStats) << "b's request went to b's own connection";
  ASSERT_TRUE(link_b.send_line(kAnswerTwo));
  EXPECT_EQ(host.read_line(), open_echo("b", kDefaultMaxSessions));
  EXPECT_EQ(host.read_line(), kAnswerTwo);

  // a's request is in flight when its close arrives: the answer first,
  // then the connection closed, then the echo.
  send_burst(host, {select_line("a"), kLayers, close_line("a")});
  ASSERT_EQ(link_a.read_line(), kLayers);
  EXPECT_FALSE(host.read_line(300ms).has_value()) << "the close was answered before a's request";
  ASSERT_TRUE(link_a.send_line(kAnswerThree));
  EXPECT_EQ(host.read_line(), kAnswerThree);
  EXPECT_EQ(host.read_line(), close_echo("a"));
  EXPECT_TRUE(link_a.closed_within(5s)) << "a's scheduler connection outlived its session";

  send_burst(host, {select_line("b"), kStats});
  ASSERT_EQ(link_b.read_line(), kStats) << "b's connection was kept";
  ASSERT_TRUE(link_b.send_line(kAnswerOne));
  EXPECT_EQ(host.read_line(), kAnswerOne);

  send_burst(host, {open_line("a"), kStats});
  auto link_a_again = accept_relay();
  ASSERT_EQ(link_a_again.read_line(), kStats) << "a reopened has a new connection";
  ASSERT_TRUE(link_a_again.send_line(kAnswerTwo));
  EXPECT_EQ(host.read_line(), open_echo("a", kDefaultMaxSessions));
  EXPECT_EQ(host.read_line(), kAnswerTwo);
}

}  // namespace
}  // namespace ktstats::test
