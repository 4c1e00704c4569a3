#include "tools/human_units.h"

#include <gtest/gtest.h>

namespace caravan::tools {
namespace {

TEST(HumanBytes, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(12869990), "12.3 MiB");  // issue 15's raw figure
  EXPECT_EQ(HumanBytes(1048575), "1.0 MiB");    // not "1024.0 KiB"
  EXPECT_EQ(HumanBytes(5ull << 30), "5.0 GiB");
  EXPECT_EQ(HumanBytes(UINT64_MAX), "16.0 EiB");
}

TEST(HumanDuration, TwoLargestUnits) {
  EXPECT_EQ(HumanDuration(0), "0 s");
  EXPECT_EQ(HumanDuration(-5), "0 s");
  EXPECT_EQ(HumanDuration(45), "45 s");
  EXPECT_EQ(HumanDuration(180), "3 min");
  EXPECT_EQ(HumanDuration(185), "3 min 5 s");
  EXPECT_EQ(HumanDuration(7500), "2 h 5 min");
  EXPECT_EQ(HumanDuration(3 * 86400 + 4 * 3600 + 59), "3 d 4 h");
}

TEST(HumanAge, PastFutureAndNow) {
  EXPECT_EQ(HumanAge(1000, 1000), "just now");
  EXPECT_EQ(HumanAge(1000, 1180), "3 min ago");
  EXPECT_EQ(HumanAge(1180, 1000), "in 3 min");
}

TEST(HumanAge, FromRfc3339Text) {
  // 2026-01-01T00:00:00Z is 1767225600.
  EXPECT_EQ(HumanAgeOfText("2026-01-01T00:00:00Z", 1767225600 + 7200),
            "2 h ago");
  EXPECT_EQ(HumanAgeOfText("", 0), "-");
  EXPECT_EQ(HumanAgeOfText("not a time", 0), "not a time");
}

}  // namespace
}  // namespace caravan::tools
