// The relay's timer as a real timerfd: armed as seldom as its deadlines
// allow, never later than the earliest, and never left to wake an idle
// relay more than once.
#include "io/deadline_timer.hpp"

#include <poll.h>
#include <sys/timerfd.h>

#include <gtest/gtest.h>

namespace ktstats::relay {
namespace {

using namespace std::chrono_literals;

bool fires_within(const DeadlineTimer& timer, std::chrono::milliseconds bound) {
  pollfd fd{timer.fd(), POLLIN, 0};
  return ::poll(&fd, 1, static_cast<int>(bound.count())) == 1;
}

// What the kernel has: whether the timerfd is armed at all.
bool kernel_armed(const DeadlineTimer& timer) {
  itimerspec spec{};
  EXPECT_EQ(::timerfd_gettime(timer.fd(), &spec), 0);
  return spec.it_value.tv_sec != 0 || spec.it_value.tv_nsec != 0;
}

DeadlineTimer make_timer() {
  auto timer = DeadlineTimer::create();
  EXPECT_TRUE(timer.ok());
  return std::move(*timer);
}

TEST(DeadlineTimer, ADeadlineMovingLaterLeavesTheEarlierExpiryArmed) {
  auto timer = make_timer();
  const auto t0 = Clock::now();
  timer.fire_by(t0 + 50ms, true, t0);
  EXPECT_EQ(timer.armed_at(), t0 + 50ms);
  for (auto later : {60ms, 70ms, 80ms}) {
    timer.fire_by(t0 + later, true, t0 + 1ms);
    EXPECT_EQ(timer.armed_at(), t0 + 50ms) << "re-armed for a later deadline";
  }
  EXPECT_TRUE(fires_within(timer, 5s));
}

TEST(DeadlineTimer, AnEarlierDeadlineArmsItEarlier) {
  auto timer = make_timer();
  const auto t0 = Clock::now();
  timer.fire_by(t0 + 80ms, true, t0);
  timer.fire_by(t0 + 20ms, true, t0);
  EXPECT_EQ(timer.armed_at(), t0 + 20ms);
}

// The pump wakes, finds the deadline not reached, and arms the timer at
// the real deadline, not at another horizon.
TEST(DeadlineTimer, AnEarlyExpiryRearmsAtTheRealDeadline) {
  auto timer = make_timer();
  const auto t0 = Clock::now();
  const auto real = t0 + 10s;
  timer.fire_by(real, true, t0);
  EXPECT_EQ(timer.armed_at(), t0 + DeadlineTimer::kHorizon) << "a request's deadline is armed near";
  ASSERT_TRUE(fires_within(timer, 5s));
  timer.consume();
  EXPECT_EQ(timer.armed_at(), std::nullopt);
  const auto woke = Clock::now();
  ASSERT_LT(woke, real);
  timer.fire_by(real, true, woke);
  EXPECT_EQ(timer.armed_at(), real);
  EXPECT_TRUE(kernel_armed(timer));
  EXPECT_FALSE(fires_within(timer, 150ms)) << "fired again before the deadline";
}

TEST(DeadlineTimer, TheLastDeadlineGoneFiresAtMostOnce) {
  auto timer = make_timer();
  const auto t0 = Clock::now();
  timer.fire_by(t0 + 10s, true, t0);
  timer.fire_by(std::nullopt, false, t0 + 1ms);
  EXPECT_TRUE(kernel_armed(timer)) << "disarmed at once: a system call per answer";
  ASSERT_TRUE(fires_within(timer, 5s));
  timer.consume();
  timer.fire_by(std::nullopt, false, Clock::now());
  EXPECT_FALSE(kernel_armed(timer));
  EXPECT_FALSE(fires_within(timer, 300ms)) << "fired twice with no deadline";
}

// An expiry far ahead (a port waited for, a request re-armed at its real
// deadline) is not left to wake an idle relay later.
TEST(DeadlineTimer, AFarExpiryIsDisarmedWhenItsDeadlineGoes) {
  auto timer = make_timer();
  const auto t0 = Clock::now();
  timer.fire_by(t0 + 10s, false, t0);
  EXPECT_EQ(timer.armed_at(), t0 + 10s) << "a deadline of no request is armed as it is";
  timer.fire_by(std::nullopt, false, t0);
  EXPECT_EQ(timer.armed_at(), std::nullopt);
  EXPECT_FALSE(kernel_armed(timer));
}

TEST(DeadlineTimer, APassedDeadlineFiresAtOnce) {
  auto timer = make_timer();
  const auto t0 = Clock::now();
  timer.fire_by(t0 - 1s, true, t0);
  EXPECT_TRUE(fires_within(timer, 1s));
}

}  // namespace
}  // namespace ktstats::relay
