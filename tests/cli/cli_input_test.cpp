// What users type, checked by the real ktstats before it connects: the
// connection URI from --connect or KTSTATS_CONNECT, durations, raw's line,
// --arg values, the kind of file a pipe: or tty: URI names, and standard
// descriptors that were closed.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include <boost/json/parse.hpp>

#include "relay_fixture.hpp"

namespace ktstats::test {
namespace {

// Sets an environment variable for the programs this test starts, and
// restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string file_contents(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

class CliInput : public RelayFixture {
 protected:
  std::string direct() const { return "scx:" + scheduler_socket; }
  // The fixture's listening socket: ktstats pointed at it connects there,
  // which no_connection_came() can tell.
  std::string listener() const { return "unix:" + port_socket; }

  Outcome run(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
    args.insert(args.begin(), program("KTSTATS", KTSTATS));
    return run_program(args, timeout);
  }

  // ktstats through /bin/sh, for redirections such as closing descriptors.
  Outcome run_in_shell(const std::string& script, std::vector<std::string> args) {
    std::vector<std::string> argv{"/bin/sh", "-c", script, program("KTSTATS", KTSTATS)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, 20s);
  }

  // Called after ktstats has exited: a connection it made would be queued.
  bool no_connection_came() { return !port.accept(0ms).valid(); }

  std::int64_t total_requests_so_far() {
    auto r = run({"stats", "-c", direct()});
    EXPECT_EQ(r.status, 0) << r.err;
    try {
      return boost::json::parse(r.out).at("total_requests").to_number<std::int64_t>();
    } catch (const std::exception&) {
      ADD_FAILURE() << "not stats: " << r.out;
      return -1;
    }
  }
};

void expect_usage_error(const Outcome& r, const std::string& names, const std::string& says) {
  EXPECT_EQ(r.status, 64) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("ktstats: " + names + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(CliInput, BadConnectInTheEnvironmentIsAUsageErrorNamingIt) {
  for (const std::string value : {"bogus", "", "unix:", "/tmp/x"}) {
    ScopedEnv env("KTSTATS_CONNECT", value);
    for (const char* command : {"stats", "ping"}) {
      auto r = run({command});
      expect_usage_error(r, "KTSTATS_CONNECT", "'" + value + "'");
      EXPECT_NE(r.err.find("fix or unset KTSTATS_CONNECT, or pass --connect"), std::string::npos)
          << r.err;
    }
  }
}

TEST_F(CliInput, ConnectOptionOverridesABadEnvironment) {
  start_scheduler();
  ScopedEnv env("KTSTATS_CONNECT", "bogus");
  auto r = run({"stats", "--target", "layers", "-c", direct()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"interactive\""), std::string::npos) << r.out;
}

TEST_F(CliInput, DurationsBeyondADayAreUsageErrors) {
  start_scheduler();
  // 2562048h is just under what a signed 64-bit count of nanoseconds
  // holds: added to the clock's now, it overflowed.
  expect_usage_error(run({"watch", "-i", "2562048h", "-n", "5", "-c", direct()}), "--interval",
                     "the longest accepted is 24h");
  expect_usage_error(run({"-t", "2562048h", "stats", "-c", direct()}), "--timeout",
                     "the longest accepted is 24h");
  for (const char* text : {"25h", "1441m", "86400001ms", "9223372036854775808", "86400.0005s"}) {
    expect_usage_error(run({"stats", "-t", text, "-c", direct()}), "--timeout", "24h");
  }
  for (const char* text : {"0", "0ms", "-1s", "nan", "inf", "5 s", "5d", "1e3", ".", "s", "+5s"}) {
    auto r = run({"stats", "-t", text, "-c", direct()});
    EXPECT_EQ(r.status, 64) << text << ": " << r.err;
  }
  // The longest accepted works as any other.
  auto r = run({"stats", "-t", "24h", "-c", direct()});
  EXPECT_EQ(r.status, 0) << r.err;
  auto w = run({"watch", "-i", "1440m", "-n", "1", "-c", direct()});
  EXPECT_EQ(w.status, 0) << w.err;
}

TEST_F(CliInput, RawLineThatIsNotOneRequestIsRefusedBeforeConnecting) {
  for (const std::string line : {"", "   ", "\t", "{\"req\":\"stats\"}\n{\"req\":\"stats\"}",
                                 "{\"req\":\"stats\"}\n", "{\"req\":\"stats\"}\r"}) {
    auto r = run({"raw", line, "--timeout", "2s", "-c", listener()});
    expect_usage_error(r, "raw LINE", "");
    EXPECT_TRUE(no_connection_came()) << "raw connected for '" << line << "'";
  }
}

TEST_F(CliInput, RawSendsAnyOtherLineAsGiven) {
  start_scheduler({"--announce"});
  const std::string line = "  not json, but one line \x01";
  auto r = run({"raw", line, "-c", direct()});
  EXPECT_NE(r.status, 64) << r.err;
  EXPECT_EQ(scheduler->read_line(), "request " + line);
}

TEST_F(CliInput, ArgThatIsNotUtf8IsRefusedBeforeConnecting) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"stats", "--arg", "k=\xff"},
           {"stats", "--arg", "\xc3(=v"},
           {"watch", "--arg", "k=\xed\xa0\x80"},  // a UTF-16 surrogate
           {"stats", "--target", "\xff"}}) {
    auto with_connect = args;
    with_connect.insert(with_connect.end(), {"-c", listener()});
    auto r = run(with_connect);
    expect_usage_error(r, args[1], "is not valid UTF-8");
    EXPECT_EQ(r.err.find('\xff'), std::string::npos) << "the raw byte reached the terminal";
    EXPECT_TRUE(no_connection_came()) << args[2];
  }
  EXPECT_NE(run({"stats", "--arg", "k=\xff", "-c", listener()}).err.find("'k=\\xff'"),
            std::string::npos);
}

TEST_F(CliInput, RequestOverTheCapIsRefusedBeforeConnecting) {
  // One argument is limited by the kernel to 128 KiB; three make a request
  // over the 256 KiB line cap.
  const std::string big(100'000, 'x');
  auto r = run({"stats", "--arg", "a=" + big, "--arg", "b=" + big, "--arg", "c=" + big, "-c",
                listener()});
  expect_usage_error(r, "--arg", "cap");
  EXPECT_TRUE(no_connection_came());
}

TEST_F(CliInput, EmptyTargetIsAUsageError) {
  expect_usage_error(run({"stats", "--target", "", "-c", listener()}), "--target", "needs a name");
  EXPECT_TRUE(no_connection_came());
}

TEST_F(CliInput, PipeThatIsARegularFileIsLeftUntouched) {
  const std::string base = dir / "vm";
  const std::string precious = "precious data, not a FIFO\n";
  write_file(base + ".in", precious);
  ASSERT_EQ(::mkfifo((base + ".out").c_str(), 0600), 0);
  auto r = run({"stats", "--timeout", "2s", "-c", "pipe:" + base});
  EXPECT_EQ(r.status, 74) << r.err;
  EXPECT_EQ(file_contents(base + ".in"), precious);
  EXPECT_NE(r.err.find(base + ".in is a regular file, not a FIFO; nothing was written to it"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("PATH.in and PATH.out"), std::string::npos) << r.err;
}

TEST_F(CliInput, PipeWhoseOutputIsARegularFileIsRefusedToo) {
  const std::string base = dir / "vm";
  ASSERT_EQ(::mkfifo((base + ".in").c_str(), 0600), 0);
  write_file(base + ".out", "answer?\n");
  auto r = run({"stats", "--timeout", "2s", "-c", "pipe:" + base});
  EXPECT_EQ(r.status, 74) << r.err;
  EXPECT_NE(r.err.find(base + ".out is a regular file, not a FIFO"), std::string::npos) << r.err;
  EXPECT_EQ(file_contents(base + ".out"), "answer?\n");
}

TEST_F(CliInput, TtyThatIsNotACharacterDeviceIsRefused) {
  const std::string path = dir / "not-a-tty";
  write_file(path, "keep\n");
  for (const char* scheme : {"tty:", "pty:"}) {
    auto r = run({"stats", "--timeout", "2s", "-c", scheme + path});
    EXPECT_EQ(r.status, 74) << r.err;
    EXPECT_NE(r.err.find(path + " is a regular file, not a character device"), std::string::npos)
        << r.err;
  }
  auto r = run({"stats", "--timeout", "2s", "-c", "tty:" + std::string(dir.path())});
  EXPECT_NE(r.err.find("is a directory, not a character device"), std::string::npos) << r.err;
  EXPECT_EQ(file_contents(path), "keep\n");
}

TEST_F(CliInput, ClosedStdoutFailsBeforeAnythingIsSent) {
  start_scheduler();
  // Without /dev/null on 0 and 1, the signalfd took 0 and the socket 1, and
  // the answer was written back into the scheduler's socket.
  auto r = run_in_shell("exec \"$0\" \"$@\" <&- >&-", {"-c", direct(), "stats"});
  EXPECT_EQ(r.status, 74) << r.err;
  EXPECT_NE(r.err.find("ktstats: standard output is closed"), std::string::npos) << r.err;
  EXPECT_EQ(total_requests_so_far(), 1) << "the closed command sent a request";
  auto to_listener = run_in_shell("exec \"$0\" \"$@\" >&-", {"-c", listener(), "stats"});
  EXPECT_EQ(to_listener.status, 74) << to_listener.err;
  EXPECT_TRUE(no_connection_came());
}

TEST_F(CliInput, ClosedStdinAndStderrAreHarmless) {
  start_scheduler();
  auto r = run_in_shell("exec \"$0\" \"$@\" <&- 2>&-", {"-c", direct(), "stats"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).at("session_reads").to_number<int>(), 1) << r.out;
}

}  // namespace
}  // namespace ktstats::test
