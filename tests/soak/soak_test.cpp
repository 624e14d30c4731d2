// Soak: 100,000 requests through one relay session, and 1,000 sessions in
// a row, with the relay's descriptors and resident memory sampled as they
// go. Both must stay flat. The samples are printed for docs/RELIABILITY.md.
#include <gtest/gtest.h>

#include <cstdio>

#include "relay_fixture.hpp"

namespace ktstats::test {
namespace {

constexpr const char* kStats = R"({"req":"stats"})";

struct Sample {
  std::size_t fds;
  std::size_t rss_kib;
};

class Soak : public RelayFixture {
 protected:
  Sample sample() const { return {open_fd_count(relay->pid()), rss_kib(relay->pid())}; }

  // Flat: no descriptor more than at the first sample, and (outside
  // sanitizer builds, whose allocators keep freed memory in quarantine) no
  // more than 64 KiB of resident memory more.
  static void expect_flat(const std::vector<Sample>& samples) {
    ASSERT_FALSE(samples.empty());
    for (const auto& s : samples) {
      EXPECT_EQ(s.fds, samples.front().fds);
      if (!kSanitizerBuild) {
        EXPECT_LE(s.rss_kib, samples.front().rss_kib + 64);
      }
    }
  }
};

TEST_F(Soak, HundredThousandRequests) {
  start_scheduler();
  start_relay();
  auto host = next_session();
  ASSERT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1);
  std::vector<Sample> samples{sample()};
  std::printf("requests  fds  rss_kib\n%8d  %3zu  %7zu\n", 1, samples.back().fds, samples.back().rss_kib);
  for (int i = 2; i <= 100000; ++i) {
    ASSERT_TRUE(host.send_line(kStats));
    auto answer = host.read_line();
    ASSERT_TRUE(answer.has_value()) << "request " << i << " unanswered";
    if (i % 10000 == 0) {
      ASSERT_EQ(field(payload(*answer), "session_reads"), i);
      samples.push_back(sample());
      std::printf("%8d  %3zu  %7zu\n", i, samples.back().fds, samples.back().rss_kib);
    }
  }
  expect_flat(samples);
}

TEST_F(Soak, ThousandSessionsInARow) {
  start_scheduler();
  start_relay();
  std::vector<Sample> samples;
  std::printf("sessions  fds  rss_kib\n");
  for (int i = 1; i <= 1000; ++i) {
    auto host = next_session();
    ASSERT_EQ(field(payload(ask(host, kStats)), "session_reads"), 1) << "session " << i;
    // Sampled mid-session, when the relay holds exactly this session's
    // connections: the previous ones are closed before the next is opened.
    if (i == 1 || i % 100 == 0) {
      samples.push_back(sample());
      std::printf("%8d  %3zu  %7zu\n", i, samples.back().fds, samples.back().rss_kib);
    }
  }
  expect_flat(samples);
}

}  // namespace
}  // namespace ktstats::test
