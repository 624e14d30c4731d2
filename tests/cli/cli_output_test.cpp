// What ktstats prints, as a real process: output that is always valid JSON
// (checked with Python's parser), text that is unambiguous on a terminal,
// what ping reports, and raw's exit status.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "ktstats/relay_line.hpp"
#include "relay_fixture.hpp"

namespace ktstats::test {
namespace {

// An scx_stats server (or a relay, for ping) with one canned answer: it
// serves `sessions` connections in turn, answering each line it reads.
class CannedPeer {
 public:
  CannedPeer(std::string path, std::string answer, int sessions = 1)
      : listener_(std::move(path)), answer_(std::move(answer)), sessions_(sessions),
        thread_([this] { serve(); }) {}
  ~CannedPeer() { thread_.join(); }
  CannedPeer(const CannedPeer&) = delete;
  CannedPeer& operator=(const CannedPeer&) = delete;

 private:
  void serve() {
    for (int session = 0; session < sessions_; ++session) {
      UniqueFd fd = listener_.accept(20s);
      if (!fd.valid()) return;
      LinePeer peer(std::move(fd));
      while (auto line = peer.read_line(20s)) {
        const auto control = decode_control_line(*line);
        if (const auto* open = control ? std::get_if<OpenLine>(&*control) : nullptr) {
          peer.send_line(answer_.empty() ? R"({"ktstats_open":")" + open->id +
                                               R"(","version":"9.9","max_sessions":3})"
                                         : encode_open_reply({open->id, "9.9", 3, answer_}));
        } else if (control && std::holds_alternative<CloseLine>(*control)) {
          continue;  // the session's end: its echo is not awaited
        } else if (auto nonce = decode_sync_request(*line)) {
          peer.send_line(answer_.empty()
                             ? R"({"ktstats_sync":")" + *nonce + R"(","version":"9.9"})"
                             : encode_sync_reply({*nonce, "9.9", answer_}));
        } else {
          peer.send_line(answer_);
        }
      }
    }
  }

  Listener listener_;
  std::string answer_;  // for an open or sync line: the relay name the echo gives, if any
  int sessions_;
  std::thread thread_;
};

class CliOutput : public RelayFixture {
 protected:
  Outcome run(std::vector<std::string> args) {
    args.insert(args.begin(), program("KTSTATS", KTSTATS));
    return run_program(args, 20s);
  }

  std::string socket() const { return dir / "canned.sock"; }
};

// Python's json module, strict: Infinity and NaN, which it would accept,
// are refused too. Prints each document back, keys sorted.
std::string python_json(const std::string& text, bool lines) {
  const char* script =
      "import json, sys\n"
      "def refuse(name): raise ValueError('not JSON: ' + name)\n"
      "text = sys.stdin.read()\n"
      "docs = text.splitlines() if sys.argv[1] == 'lines' else [text]\n"
      "for doc in docs: print(json.dumps(json.loads(doc, parse_constant=refuse), sort_keys=True))\n";
  auto python = Process::spawn({"/usr/bin/python3", "-c", script, lines ? "lines" : "doc"},
                               {.inherit_fds = {}, .stdin_pipe = true});
  EXPECT_EQ(::write(python.stdin_fd(), text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  python.close_stdin();
  auto parsed = python.read_all(20s);
  const auto status = python.wait(20s);
  EXPECT_EQ(status, 0) << "Python refused: " << text << "\n" << python.stderr_text();
  return parsed;
}

constexpr const char* kHugeNumbers = R"({"errno":0,"args":{"resp":{"big":1e400,"neg":-1e400,"ok":0.5}}})";
constexpr const char* kClamped =
    R"({"big": 1.7976931348623157e+308, "neg": -1.7976931348623157e+308, "ok": 0.5})" "\n";

TEST_F(CliOutput, NumberPastADoubleIsValidJsonInJsonAndPretty) {
  for (const char* format : {"json", "pretty"}) {
    CannedPeer peer(socket(), kHugeNumbers);
    auto r = run({"stats", "--format", format, "-c", "scx:" + socket()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.find("inf"), std::string::npos) << r.out;
    EXPECT_EQ(python_json(r.out, false), kClamped) << format;
  }
}

TEST_F(CliOutput, NumberPastADoubleIsValidJsonInRaw) {
  CannedPeer peer(socket(), kHugeNumbers);
  auto r = run({"raw", R"({"req":"stats"})", "--format", "json", "-c", "scx:" + socket()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"errno":0,"args":{"resp":{"big":1.7976931348623157e+308,)"
            R"("neg":-1.7976931348623157e+308,"ok":0.5}}})" "\n");
  python_json(r.out, false);
}

TEST_F(CliOutput, NumberPastADoubleIsValidJsonInWatch) {
  CannedPeer peer(socket(), kHugeNumbers);
  auto r = run({"watch", "--format", "json", "--count", "2", "--interval", "10ms", "-c",
                "scx:" + socket()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto parsed = python_json(r.out, true);
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), '\n'), 2) << parsed;
  EXPECT_NE(parsed.find(R"("big": 1.7976931348623157e+308)"), std::string::npos) << parsed;
}

// Bidi overrides, zero-width characters and the line separator reorder or
// hide text on a terminal: JSON output escapes them, and still decodes to
// the same string. A literal backslash stays distinct from an escape.
TEST_F(CliOutput, JsonEscapesCharactersATerminalWouldHide) {
  CannedPeer peer(socket(),
                  R"({"errno":0,"args":{"resp":{"note":")"
                  "a\u202eb\u2066c\u200bd\ufeffe\u2028f\U000e0041g"
                  R"(\\x1b\u001b"}}})",
                  2);
  const std::string escaped = R"(a\u202eb\u2066c\u200bd\ufeffe\u2028f\udb40\udc41g\\x1b\u001b)";
  for (const char* format : {"json", "pretty"}) {
    auto r = run({"stats", "--format", format, "-c", "scx:" + socket()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(escaped), std::string::npos) << r.out;
    for (const char* hidden : {"\u202e", "\u2066", "\u200b", "\ufeff", "\u2028", "\U000e0041"}) {
      EXPECT_EQ(r.out.find(hidden), std::string::npos) << "raw in: " << r.out;
    }
    EXPECT_EQ(python_json(r.out, false), R"({"note": ")" + escaped + "\"}\n");
  }
}

// In an error message, the peer's text "\x1b" and a real ESC look different.
TEST_F(CliOutput, ErrorTextFromThePeerIsUnambiguous) {
  CannedPeer peer(socket(), R"({"errno":22,"args":{"resp":"lit \\x1b esc \u001b rlo )"
                            "\u202e" R"( end"}})");
  auto r = run({"stats", "-c", "scx:" + socket()});
  EXPECT_EQ(r.status, 65);
  EXPECT_NE(r.err.find(R"(lit \\x1b esc \x1b rlo \u202e end)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\u202e"), std::string::npos) << r.err;
}

TEST_F(CliOutput, PingReportsTheRelayTheEchoNames) {
  {
    CannedPeer relay(socket(), "other-relay");
    auto r = run({"ping", "--format", "json", "-c", "unix:" + socket()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind(R"({"relay":"other-relay","version":"9.9","max_sessions":3,"rtt_ms":)", 0),
              0u)
        << r.out;
  }
  {
    CannedPeer relay(socket(), "other-relay");
    auto r = run({"ping", "--format", "pretty", "-c", "unix:" + socket()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("other-relay 9.9 (3 sessions at most) via unix:" + socket() + ": ", 0),
              0u)
        << r.out;
  }
  {
    // With sync off, ping asks with a sync line: no session, no limit known.
    CannedPeer relay(socket(), "other-relay");
    auto r = run({"ping", "--no-sync", "--format", "json", "-c", "unix:" + socket()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind(R"({"relay":"other-relay","version":"9.9","max_sessions":null,)", 0), 0u)
        << r.out;
  }
}

TEST_F(CliOutput, PingEscapesTheRelayName) {
  CannedPeer relay(socket(), "evil\x1b[2J\u202e");
  auto r = run({"ping", "--format", "pretty", "-c", "unix:" + socket()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("evil\\x1b[2J\\u202e 9.9 (3 sessions at most) via ", 0), 0u) << r.out;
}

TEST_F(CliOutput, PingOfARelayWhoseEchoNamesNone) {
  // An echo without a "relay" member: say so, do not make a name up.
  CannedPeer relay(socket(), "");
  auto json = run({"ping", "--format", "json", "-c", "unix:" + socket()});
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(json.out.rfind(R"({"relay":null,"version":"9.9",)", 0), 0u) << json.out;
  CannedPeer again(socket(), "");
  auto pretty = run({"ping", "--format", "pretty", "-c", "unix:" + socket()});
  ASSERT_EQ(pretty.status, 0) << pretty.err;
  EXPECT_EQ(pretty.out.rfind("unnamed relay 9.9 (3 sessions at most) via ", 0), 0u) << pretty.out;
}

// raw prints the answer as it came, and its status says whether the
// scheduler reported an error: 65, as for stats.
TEST_F(CliOutput, RawExits65WhenTheSchedulerAnswersAnErrno) {
  start_scheduler();
  auto r = run({"raw", R"({"req":"stats","args":{"target":"bogus"}})", "-c",
                "scx:" + scheduler_socket});
  EXPECT_EQ(r.status, 65);
  EXPECT_EQ(r.out, R"({"errno":22,"args":{"resp":"Unknown target \"bogus\""}})" "\n");
  auto ok = run({"raw", R"({"req":"stats"})", "-c", "scx:" + scheduler_socket});
  EXPECT_EQ(ok.status, 0) << ok.err;
}

// A VMM port that another client holds exits 75 and says why, whether the
// connection waits in the listen queue (no sync echo comes, see
// CliRelay.BusyPortFailsWithinTheTimeoutSayingWhy) or the queue is full.
TEST_F(CliOutput, BusyPortWithAFullQueueExits75) {
  UniqueFd port(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket().c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(port.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(port.get(), 0), 0);  // and never accepts, like a busy QEMU chardev
  std::vector<UniqueFd> queued;
  for (;;) {
    UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    queued.push_back(std::move(client));
    ASSERT_LT(queued.size(), 64u);
  }
  auto r = run({"stats", "--timeout", "300ms", "-c", "unix:" + socket()});
  EXPECT_EQ(r.status, 75);
  EXPECT_NE(r.err.find("is busy: another client holds the VM's port"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ktstats::test
