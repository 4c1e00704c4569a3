#include "daemon/control/control_budget.h"

#include <gtest/gtest.h>

namespace caravan::daemon {
namespace {

TEST(ControlBudget, TakesUpToTheLimitAndNoMore) {
  ControlBudget budget(100);
  EXPECT_TRUE(budget.TryTake(60));
  EXPECT_FALSE(budget.TryTake(41));
  EXPECT_EQ(budget.used(), 60u) << "a refused take takes nothing";
  EXPECT_TRUE(budget.TryTake(40));
  EXPECT_FALSE(budget.TryTake(1));
  EXPECT_FALSE(ControlBudget(10).TryTake(11));
  budget.Give(100);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.peak(), 100u);
  EXPECT_EQ(budget.given_total(), 100u);
}

// Replies are built before they are counted: they may pass the limit, and
// then requests wait until they are written.
TEST(ControlBudget, ForcedTakesPassTheLimitAndBlockRequests) {
  ControlBudget budget(100);
  budget.TakeForced(150);
  EXPECT_EQ(budget.used(), 150u);
  EXPECT_FALSE(budget.TryTake(1));
  budget.Give(150);
  EXPECT_TRUE(budget.TryTake(1));
}

TEST(ControlBudget, GiveWakesEveryWaiterOnceForgetRemovesOne) {
  ControlBudget budget(10);
  int a = 0, b = 0, c = 0;
  budget.Wait([&] { ++a; });
  const uint64_t key = budget.Wait([&] { ++b; });
  budget.Forget(key);
  budget.Wait([&] { ++c; });
  budget.Give(0);
  budget.Give(0);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(c, 1);
}

TEST(ControlBudget, ChargeGivesBackOnDestruction) {
  ControlBudget budget(100);
  {
    BudgetCharge charge(budget);
    ASSERT_TRUE(budget.TryTake(30));
    charge.Add(30);
    ASSERT_TRUE(budget.TryTake(20));
    charge.Add(20);
    EXPECT_EQ(budget.used(), 50u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace caravan::daemon
