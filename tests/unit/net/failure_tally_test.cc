#include "daemon/net/failure_tally.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::daemon::net {
namespace {

using std::chrono::seconds;
using Clock = FailureTally::Clock;

FailureTally::Options Opts(size_t max_sources = 4, size_t max_reasons = 2) {
  FailureTally::Options o;
  o.interval = seconds(60);
  o.max_sources = max_sources;
  o.max_reasons = max_reasons;
  return o;
}

TEST(FailureTallyTest, FirstFailureOpensAWindowTheRestAreCounted) {
  FailureTally tally(Opts());
  const auto t0 = Clock::time_point() + seconds(1000);
  EXPECT_TRUE(tally.Record("192.0.2.1", "bad handshake", t0));
  for (int i = 1; i < 1000; ++i) {
    EXPECT_FALSE(tally.Record("192.0.2.1", "bad handshake", t0 + seconds(1)));
  }
  EXPECT_TRUE(tally.TakeDue(t0 + seconds(59)).empty());
  auto due = tally.TakeDue(t0 + seconds(60));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].source, "192.0.2.1");
  EXPECT_EQ(due[0].count, 1000u);
  EXPECT_EQ(due[0].reasons.at("bad handshake"), 1000u);
  EXPECT_EQ(due[0].first, t0);
  EXPECT_EQ(due[0].last, t0 + seconds(1));
  EXPECT_EQ(tally.open_windows(), 0u);
  EXPECT_EQ(tally.total(), 1000u);
  // The next failure opens a new window.
  EXPECT_TRUE(tally.Record("192.0.2.1", "bad handshake", t0 + seconds(61)));
}

TEST(FailureTallyTest, SourcesBeyondTheCapFoldIntoOneBucket) {
  FailureTally tally(Opts(/*max_sources=*/2));
  const auto t0 = Clock::time_point() + seconds(5);
  EXPECT_TRUE(tally.Record("a", "r", t0));
  EXPECT_TRUE(tally.Record("b", "r", t0));
  EXPECT_TRUE(tally.Record("c", "r", t0));   // opens the overflow bucket
  EXPECT_FALSE(tally.Record("d", "r", t0));  // joins it
  EXPECT_FALSE(tally.Record("a", "r", t0));  // a tracked source still counts
  EXPECT_EQ(tally.open_windows(), 3u);
  auto all = tally.TakeAll();
  ASSERT_EQ(all.size(), 3u);
  uint64_t other = 0, a = 0;
  for (const auto& s : all) {
    if (s.source == FailureTally::kOtherSources) other = s.count;
    if (s.source == "a") a = s.count;
  }
  EXPECT_EQ(other, 2u);
  EXPECT_EQ(a, 2u);
  EXPECT_EQ(tally.open_windows(), 0u);
}

TEST(FailureTallyTest, ReasonsBeyondTheCapFoldIntoOther) {
  FailureTally tally(Opts(4, /*max_reasons=*/2));
  const auto t0 = Clock::time_point() + seconds(5);
  tally.Record("s", "one", t0);
  tally.Record("s", "two", t0);
  tally.Record("s", "three", t0);
  tally.Record("s", "four", t0);
  tally.Record("s", "one", t0);
  auto all = tally.TakeAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].reasons.size(), 3u);
  EXPECT_EQ(all[0].reasons.at("one"), 2u);
  EXPECT_EQ(all[0].reasons.at(std::string(FailureTally::kOtherReasons)), 2u);
  EXPECT_EQ(DescribeFailures(all[0]),
            "5 failures ((other reasons): 2, one: 2, two: 1)");
}

TEST(FailureTallyTest, DueWindowsComeOldestFirst) {
  FailureTally tally(Opts());
  const auto t0 = Clock::time_point() + seconds(100);
  tally.Record("late", "r", t0 + seconds(10));
  tally.Record("early", "r", t0);
  auto due = tally.TakeDue(t0 + seconds(100));
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].source, "early");
  EXPECT_EQ(due[1].source, "late");
  EXPECT_EQ(DescribeFailures(due[0]), "1 failure (r: 1)");
}

}  // namespace
}  // namespace caravan::daemon::net
