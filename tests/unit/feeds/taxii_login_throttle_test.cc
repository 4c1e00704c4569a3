// LoginThrottle: the exponential delay after repeated failed TAXII logins,
// per key, with bounded memory.
#include "daemon/feeds/taxii_login_throttle.h"

#include <gtest/gtest.h>

namespace caravan::feeds {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

LoginThrottle::Options Small() {
  LoginThrottle::Options o;
  o.failures_before_delay = 3;
  o.base_delay = 1s;
  o.max_delay = 8s;
  o.forget_after = 60s;
  o.max_keys = 4;
  return o;
}

TEST(LoginThrottleTest, NoDelayBelowTheThreshold) {
  LoginThrottle t(Small());
  const auto now = Clock::now();
  t.RecordFailure("10.0.0.1", now);
  t.RecordFailure("10.0.0.1", now);
  EXPECT_EQ(t.RetryAfter("10.0.0.1", now), Clock::duration::zero());
}

TEST(LoginThrottleTest, DelayDoublesFromTheThresholdUpToTheMaximum) {
  LoginThrottle t(Small());
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) t.RecordFailure("k", now);
  EXPECT_EQ(t.RetryAfter("k", now), Clock::duration(1s));
  t.RecordFailure("k", now);
  EXPECT_EQ(t.RetryAfter("k", now), Clock::duration(2s));
  t.RecordFailure("k", now);
  EXPECT_EQ(t.RetryAfter("k", now), Clock::duration(4s));
  for (int i = 0; i < 100; ++i) t.RecordFailure("k", now);
  EXPECT_EQ(t.RetryAfter("k", now), Clock::duration(8s));
  // The delay runs from the last failure.
  EXPECT_EQ(t.RetryAfter("k", now + 3s), Clock::duration(5s));
  EXPECT_EQ(t.RetryAfter("k", now + 8s), Clock::duration::zero());
}

TEST(LoginThrottleTest, OtherKeysAreNotAffected) {
  LoginThrottle t(Small());
  const auto now = Clock::now();
  for (int i = 0; i < 10; ++i) t.RecordFailure("attacker", now);
  EXPECT_GT(t.RetryAfter("attacker", now), Clock::duration::zero());
  EXPECT_EQ(t.RetryAfter("good", now), Clock::duration::zero());
}

TEST(LoginThrottleTest, SuccessClearsTheKey) {
  LoginThrottle t(Small());
  const auto now = Clock::now();
  for (int i = 0; i < 5; ++i) t.RecordFailure("k", now);
  t.RecordSuccess("k");
  EXPECT_EQ(t.RetryAfter("k", now), Clock::duration::zero());
  t.RecordFailure("k", now);
  EXPECT_EQ(t.RetryAfter("k", now), Clock::duration::zero());
  EXPECT_EQ(t.tracked(), 1u);
}

TEST(LoginThrottleTest, OldFailuresAreForgotten) {
  LoginThrottle t(Small());
  const auto now = Clock::now();
  for (int i = 0; i < 5; ++i) t.RecordFailure("k", now);
  // After forget_after the count starts again from one.
  t.RecordFailure("k", now + 61s);
  EXPECT_EQ(t.RetryAfter("k", now + 61s), Clock::duration::zero());
  EXPECT_EQ(t.RetryAfter("gone", now + 200s), Clock::duration::zero());
}

TEST(LoginThrottleTest, MemoryIsBoundedByEvictingTheOldest) {
  LoginThrottle t(Small());
  const auto now = Clock::now();
  for (int i = 0; i < 1000; ++i) {
    t.RecordFailure("source-" + std::to_string(i), now + std::chrono::milliseconds(i));
  }
  EXPECT_EQ(t.tracked(), 4u);
  // The newest keys are the ones kept.
  for (int j = 0; j < 2; ++j) t.RecordFailure("source-999", now + 1s);
  EXPECT_GT(t.RetryAfter("source-999", now + 1s), Clock::duration::zero());
}

}  // namespace
}  // namespace caravan::feeds
