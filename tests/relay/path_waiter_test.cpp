// The relay's wait for a path to appear: real inotify on real directories,
// with the time passed in, so the retry schedule is checked exactly.
#include "io/path_waiter.hpp"

#include <poll.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>

#include "process.hpp"

namespace ktstats::relay {
namespace {

using namespace std::chrono_literals;
using Verdict = PathWaiter::Verdict;

// Whether the waiter's descriptor became readable within a bound.
bool readable_soon(const PathWaiter& waiter) {
  pollfd fd{waiter.fd(), POLLIN, 0};
  return ::poll(&fd, 1, 5000) == 1;
}

class PathWaiterTest : public ::testing::Test {
 protected:
  // The waiter saw the change and says to try again.
  void expect_change_reported(PathWaiter& waiter) {
    ASSERT_TRUE(readable_soon(waiter));
    waiter.on_readable();
    EXPECT_EQ(waiter.poll(t0), Verdict::kTryNow);
    EXPECT_EQ(waiter.poll(t0), Verdict::kWait);
  }

  test::TempDir dir;
  const Clock::time_point t0 = Clock::now();
};

TEST_F(PathWaiterTest, TriesOnceAtStartThenWaitsWithoutADeadline) {
  PathWaiter waiter(dir.path());
  ASSERT_TRUE(waiter.start(t0).ok());
  EXPECT_TRUE(waiter.waiting());
  EXPECT_EQ(waiter.poll(t0), Verdict::kTryNow) << "it may have appeared before the watch";
  EXPECT_EQ(waiter.poll(t0), Verdict::kWait);
  EXPECT_EQ(waiter.next_deadline(), std::nullopt) << "no timer while nothing can change by itself";
  EXPECT_EQ(waiter.poll(t0 + 24h), Verdict::kWait);
}

TEST_F(PathWaiterTest, AnEntryCreatedInTheDirectoryIsReported) {
  PathWaiter waiter(dir.path());
  ASSERT_TRUE(waiter.start(t0).ok());
  ASSERT_EQ(waiter.poll(t0), Verdict::kTryNow);
  std::ofstream(dir / "stats") << "";
  expect_change_reported(waiter);
}

TEST_F(PathWaiterTest, MissingDirectoriesAreWatchedFromTheNearestAncestorDown) {
  PathWaiter waiter(dir / "run/scx/root");
  ASSERT_TRUE(waiter.start(t0).ok());
  ASSERT_EQ(waiter.poll(t0), Verdict::kTryNow);
  waiter.absent();
  EXPECT_EQ(waiter.poll(t0), Verdict::kWait);

  ASSERT_EQ(::mkdir((dir / "run").c_str(), 0755), 0);
  expect_change_reported(waiter);
  // The attempt found nothing, but the watch moves one level down: what
  // was created there before the new watch is tried at once.
  ASSERT_EQ(::mkdir((dir / "run/scx").c_str(), 0755), 0);
  waiter.absent();
  EXPECT_EQ(waiter.poll(t0), Verdict::kTryNow);
  waiter.absent();
  EXPECT_EQ(waiter.poll(t0), Verdict::kWait);

  ASSERT_EQ(::mkdir((dir / "run/scx/root").c_str(), 0755), 0);
  expect_change_reported(waiter);
  waiter.absent();
  EXPECT_EQ(waiter.poll(t0), Verdict::kTryNow);
  waiter.absent();
  EXPECT_EQ(waiter.poll(t0), Verdict::kWait);
  std::ofstream(dir / "run/scx/root/stats") << "";
  expect_change_reported(waiter);
}

// A server binds (the socket appears) before it listens: a refusal is
// retried 5 ms later, doubling to 100 ms apart, for 2 s in all; a change in
// the directory starts the schedule again.
TEST_F(PathWaiterTest, RefusalsAreRetriedOnABackoffWithinABudget) {
  PathWaiter waiter(dir.path());
  ASSERT_TRUE(waiter.start(t0).ok());
  ASSERT_EQ(waiter.poll(t0), Verdict::kTryNow);
  auto now = t0;
  std::chrono::milliseconds total{0};
  std::vector<std::chrono::milliseconds> gaps;
  for (;;) {
    waiter.refused(now);
    const auto next = waiter.next_deadline();
    if (!next) break;
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now);
    gaps.push_back(gap);
    total += gap;
    EXPECT_EQ(waiter.poll(*next - 1ms), Verdict::kWait);
    EXPECT_EQ(waiter.poll(*next), Verdict::kTryNow);
    now = *next;
    ASSERT_LT(gaps.size(), 100u) << "retries without end";
  }
  ASSERT_GE(gaps.size(), 6u);
  EXPECT_EQ(gaps[0], 5ms);
  EXPECT_EQ(gaps[1], 10ms);
  EXPECT_EQ(gaps[4], 80ms);
  EXPECT_EQ(gaps[5], 100ms);
  EXPECT_EQ(gaps.back(), 100ms);
  EXPECT_GE(total, 2000ms);
  EXPECT_LT(total, 2100ms);

  std::ofstream(dir / "stats") << "";
  expect_change_reported(waiter);
  waiter.refused(now);
  EXPECT_EQ(waiter.next_deadline(), now + 5ms) << "a change starts the schedule again";
}

TEST_F(PathWaiterTest, GivesUpAtItsLimit) {
  PathWaiter waiter(dir / "never");
  ASSERT_TRUE(waiter.start(t0, 200ms).ok());
  ASSERT_EQ(waiter.poll(t0), Verdict::kTryNow);
  waiter.absent();
  EXPECT_EQ(waiter.next_deadline(), t0 + 200ms);
  EXPECT_EQ(waiter.poll(t0 + 199ms), Verdict::kWait);
  EXPECT_EQ(waiter.poll(t0 + 200ms), Verdict::kGiveUp);
}

TEST_F(PathWaiterTest, StoppedItHoldsNoDescriptorAndNoDeadline) {
  PathWaiter waiter(dir.path());
  ASSERT_TRUE(waiter.start(t0, 1s).ok());
  waiter.refused(t0);
  waiter.stop();
  EXPECT_FALSE(waiter.waiting());
  EXPECT_EQ(waiter.fd(), -1);
  EXPECT_EQ(waiter.next_deadline(), std::nullopt);
  EXPECT_EQ(waiter.poll(t0 + 2s), Verdict::kWait);
  // And it can wait again.
  ASSERT_TRUE(waiter.start(t0).ok());
  EXPECT_EQ(waiter.poll(t0), Verdict::kTryNow);
}

}  // namespace
}  // namespace ktstats::relay
