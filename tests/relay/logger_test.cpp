#include "logger.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace ktstats::relay::logger {
namespace {

TEST(Logger, PlaceholdersTakeTheArgumentsInOrder) {
  const std::string text = "x";
  EXPECT_EQ(format_message("a {} b {} c {}", {std::string_view("sv"), text, "lit"}), "a sv b x c lit");
  EXPECT_EQ(format_message("{}{}", {1, 2}), "12");
  EXPECT_EQ(format_message("no placeholder", {}), "no placeholder");
}

TEST(Logger, IntegersInDecimalOrHexadecimal) {
  EXPECT_EQ(format_message("{} {} {}", {0, -42, std::numeric_limits<std::uint64_t>::max()}),
            "0 -42 18446744073709551615");
  EXPECT_EQ(format_message("{}", {std::numeric_limits<std::int64_t>::min()}),
            "-9223372036854775808");
  EXPECT_EQ(format_message("events {:#x}", {std::uint32_t{0x2019}}), "events 0x2019");
  EXPECT_EQ(format_message("{:#x}", {0}), "0x0");
}

TEST(Logger, AMissingArgumentLeavesNothingBehind) {
  EXPECT_EQ(format_message("a {} b {}", {1}), "a 1 b ");
}

class LoggerSink : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::pipe2(fds_, O_CLOEXEC | O_NONBLOCK), 0); }
  void TearDown() override {
    configure(Level::kInfo, Sink::kStderr, STDERR_FILENO);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  std::string written() {
    char buffer[4096];
    const auto got = ::read(fds_[0], buffer, sizeof buffer);
    return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
  }
  int fds_[2] = {-1, -1};
};

TEST_F(LoggerSink, StderrLinesNameTheLevel) {
  configure(Level::kDebug, Sink::kStderr, fds_[1]);
  info("serving {}", "port");
  warn("slow {}", 1);
  debug("detail");
  trace("hidden");
  EXPECT_EQ(written(),
            "ktstats-relay: info: serving port\n"
            "ktstats-relay: warning: slow 1\n"
            "ktstats-relay: debug: detail\n");
}

TEST_F(LoggerSink, KernelLogLinesCarryTheSyslogPriority) {
  configure(Level::kTrace, Sink::kKmsg, fds_[1]);
  error("e");
  warn("w");
  info("i");
  debug("d");
  trace("t");
  EXPECT_EQ(written(),
            "<3>ktstats-relay: e\n<4>ktstats-relay: w\n<6>ktstats-relay: i\n"
            "<7>ktstats-relay: d\n<7>ktstats-relay: t\n");
}

TEST_F(LoggerSink, OffWritesNothing) {
  configure(Level::kOff, Sink::kStderr, fds_[1]);
  error("e");
  EXPECT_EQ(written(), "");
}

}  // namespace
}  // namespace ktstats::relay::logger
