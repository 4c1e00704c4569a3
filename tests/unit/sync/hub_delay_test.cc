// Hub delay book (daemon/sync/hub_delay.h): what a recipient measures of
// the time sealed envelopes took through a hub, with two clocks.
#include "daemon/sync/hub_delay.h"

#include <gtest/gtest.h>

namespace caravan::daemon::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A fixed "now" well past the epoch, in ms.
constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kSec = 1000;

TEST(HubDelayBookTest, DelayIsOpeningMinusSealing) {
  HubDelayBook book(seconds(300));
  auto o = book.Observe("HUB", "CERT-A", kNow - 3 * kSec, kNow);
  EXPECT_TRUE(o.measured);
  EXPECT_FALSE(o.clock_ahead);
  EXPECT_EQ(o.delay_ms, 3 * kSec);
  EXPECT_FALSE(o.audit_due);  // 3 s is under 5 min
  auto views = book.Views(kNow);
  ASSERT_EQ(views.count({"HUB", "CERT-A"}), 1u);
  const auto& v = views.at({"HUB", "CERT-A"});
  EXPECT_EQ(v.worst_recent_ms, 3 * kSec);
  EXPECT_EQ(v.last_ms, 3 * kSec);
  EXPECT_EQ(v.worst_at_ms, kNow);
  EXPECT_EQ(v.over_alert, 0u);
}

TEST(HubDelayBookTest, AnEnvelopeWithoutASealingTimeIsNotMeasured) {
  HubDelayBook book(seconds(1));
  auto o = book.Observe("HUB", "OLD", 0, kNow);
  EXPECT_FALSE(o.measured);
  EXPECT_FALSE(o.audit_due);
  EXPECT_TRUE(book.Views(kNow).empty());
}

TEST(HubDelayBookTest, ClockSkewIsBoundedAheadCountsAsNoDelayBeyondNotAtAll) {
  HubDelayBook book(seconds(1));
  // The sender's clock runs 2 min ahead of ours: within the bound, 0 s.
  auto ahead = book.Observe("HUB", "CERT-A", kNow + 2 * 60 * kSec, kNow);
  EXPECT_TRUE(ahead.measured);
  EXPECT_EQ(ahead.delay_ms, 0);
  EXPECT_FALSE(ahead.audit_due);
  // Exactly at the bound still counts.
  auto edge =
      book.Observe("HUB", "CERT-A", kNow + kMaxSealedClockAhead.count(), kNow);
  EXPECT_TRUE(edge.measured);
  // Further ahead: the clock is wrong, nothing is measured or remembered.
  HubDelayBook fresh(seconds(1));
  auto wrong = fresh.Observe("HUB", "CERT-B",
                             kNow + kMaxSealedClockAhead.count() + 1, kNow);
  EXPECT_FALSE(wrong.measured);
  EXPECT_TRUE(wrong.clock_ahead);
  EXPECT_FALSE(wrong.audit_due);
  EXPECT_TRUE(fresh.Views(kNow).empty());
}

TEST(HubDelayBookTest, OverTheThresholdIsAuditedAtMostOnceAMinutePerPair) {
  HubDelayBook book(seconds(5));
  // Exactly the threshold is not over it.
  EXPECT_FALSE(book.Observe("HUB", "CERT-A", kNow - 5 * kSec, kNow).audit_due);
  auto first = book.Observe("HUB", "CERT-A", kNow - 6 * kSec, kNow);
  EXPECT_TRUE(first.audit_due);
  EXPECT_EQ(first.held_back, 0u);
  // Three more over it within the minute: held back, counted.
  for (int i = 1; i <= 3; ++i) {
    auto again =
        book.Observe("HUB", "CERT-A", kNow - 60 * kSec, kNow + i * kSec);
    EXPECT_FALSE(again.audit_due) << i;
  }
  // Another pair (same hub, another sender) has its own limit.
  EXPECT_TRUE(book.Observe("HUB", "CERT-B", kNow - 9 * kSec, kNow).audit_due);
  // A minute after the first entry: due again, naming the three held back.
  auto later = book.Observe("HUB", "CERT-A", kNow - 10 * kSec + 60 * kSec,
                            kNow + 60 * kSec);
  EXPECT_TRUE(later.audit_due);
  EXPECT_EQ(later.held_back, 3u);
  EXPECT_EQ(book.Views(kNow + 60 * kSec).at({"HUB", "CERT-A"}).over_alert, 5u);
}

TEST(HubDelayBookTest, WorstRecentForgetsWhatIsOlderThanTheWindow) {
  HubDelayBook book(seconds(300));
  book.Observe("HUB", "CERT-A", kNow - 40 * kSec, kNow);  // the worst
  book.Observe("HUB", "CERT-A", kNow + 10 * 60 * kSec - 2 * kSec,
               kNow + 10 * 60 * kSec);
  auto within = book.Views(kNow + 30 * 60 * kSec).at({"HUB", "CERT-A"});
  EXPECT_EQ(within.worst_recent_ms, 40 * kSec);
  EXPECT_EQ(within.worst_at_ms, kNow);
  EXPECT_EQ(within.last_ms, 2 * kSec);
  // 61 minutes on, the 40 s one has left the window; the 2 s one has not.
  const int64_t later = kNow + 61 * 60 * kSec;
  auto after = book.Views(later).at({"HUB", "CERT-A"});
  EXPECT_EQ(after.worst_recent_ms, 2 * kSec);
  // And once both have left it, the pair is not shown.
  EXPECT_TRUE(book.Views(kNow + 3 * 60 * 60 * kSec).empty());
}

TEST(HubDelayBookTest, MemoryIsBoundedByThePairLimit) {
  HubDelayBook book(seconds(1));
  for (size_t i = 0; i < kMaxHubDelayPairs + 10; ++i) {
    book.Observe("HUB", "S" + std::to_string(i), kNow - 2 * kSec, kNow);
  }
  EXPECT_EQ(book.Views(kNow).size(), kMaxHubDelayPairs);
  // A pair beyond the limit is still measured, and audited when over.
  auto beyond = book.Observe("HUB", "LATE", kNow - 2 * kSec, kNow);
  EXPECT_TRUE(beyond.measured);
  EXPECT_TRUE(beyond.audit_due);
}

}  // namespace
}  // namespace caravan::daemon::sync
