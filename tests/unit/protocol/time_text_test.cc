#include "protocol/time_text.h"

#include <gtest/gtest.h>

namespace caravan::protocol {
namespace {

TEST(TimeText, Rfc3339Variants) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-01-02T03:04:05Z", 1767323045},
      {"2026-01-02t03:04:05z", 1767323045},
      {"2026-01-02 03:04:05Z", 1767323045},
      {"2026-01-02T03:04:05.123456Z", 1767323045},
      {"2026-01-02T05:04:05+02:00", 1767323045},
      {"2026-01-01T22:04:05-05:00", 1767323045},
      {"2024-02-29T00:00:00Z", 1709164800},
      {"2016-12-31T23:59:60Z", 1483228799},  // leap second -> :59
      {"2026-01-02", 1767312000},
      {"1767323045", 1767323045},
  };
  for (const auto& [text, want] : cases) {
    auto t = ParseAbsoluteTime(text);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status().ToString();
    EXPECT_EQ(*t, want) << text;
    auto t2 = ParseTime(text, 2000000000);
    ASSERT_TRUE(t2.ok()) << text;
    EXPECT_EQ(*t2, want) << text;
  }
}

TEST(TimeText, BadTimes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "is empty"},
      {"2026-13-01T00:00:00Z", "invalid date"},
      {"2025-02-29T00:00:00Z", "invalid date"},
      {"2026-01-32", "invalid date"},
      {"1969-12-31T23:59:59Z", "invalid date"},
      {"2026-01-02T24:00:00Z", "out of range"},
      {"2026-01-02T03:04:05", "no time zone"},
      {"2026-01-02T03:04:05+2:00", "invalid UTC offset"},
      {"2026-01-02T03:04:05Zjunk", "trailing"},
      {"2026-01-02T03:04:05.Z", "fractional"},
      {"2026-01-02X03:04:05Z", "no 'T'"},
      {"yesterday", "not RFC 3339"},
      {"1970-01-01T00:00:00+01:00", "before 1970"},
      {std::string(100, '1'), "too long"},
  };
  for (const auto& [text, reason] : cases) {
    auto t = ParseAbsoluteTime(text);
    ASSERT_FALSE(t.ok()) << text << " -> " << *t;
    EXPECT_NE(t.status().message().find(reason), std::string::npos)
        << text << ": " << t.status().message();
  }
}

TEST(TimeText, Durations) {
  EXPECT_EQ(*ParseDuration("30s"), 30);
  EXPECT_EQ(*ParseDuration("15m"), 900);
  EXPECT_EQ(*ParseDuration("2h"), 7200);
  EXPECT_EQ(*ParseDuration("30d"), 30 * 86400);
  EXPECT_EQ(*ParseDuration("1w"), 7 * 86400);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400);
  EXPECT_EQ(*ParseDuration("0s"), 0);
  for (std::string bad : {"", "h", "30", "30x", "-5m", "1.5h", "3 d",
                          "99999999999999999999s", "9223372036854775807w"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad << " -> " << *d;
  }
  auto unit = ParseDuration("5y");
  ASSERT_FALSE(unit.ok());
  EXPECT_NE(unit.status().message().find("unknown unit 'y'"), std::string::npos);
}

TEST(TimeText, RelativeMeansBeforeNow) {
  const int64_t now = 1767323045;
  EXPECT_EQ(*ParseTime("2h", now), now - 7200);
  EXPECT_EQ(*ParseTime("30d", now), now - 30 * 86400);
  EXPECT_FALSE(ParseTime("100000d", 1000).ok());
  auto bad = ParseTime("2x", now);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown unit"), std::string::npos);
}

TEST(TimeText, FormatRoundTrips) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(1767323045), "2026-01-02T03:04:05Z");
  EXPECT_EQ(FormatTime(1709164800), "2024-02-29T00:00:00Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59Z");
  for (int64_t t : {int64_t{0}, int64_t{951782400}, int64_t{1767323045},
                    int64_t{4102444799}, int64_t{253402300799}}) {
    auto back = ParseAbsoluteTime(FormatTime(t));
    ASSERT_TRUE(back.ok()) << FormatTime(t);
    EXPECT_EQ(*back, t);
  }
}

TEST(TimeText, CivilTimeSplitsBeforeAndAfter1970) {
  const CivilTime before = ToCivilTime(-1);
  EXPECT_EQ(before.year, 1969);
  EXPECT_EQ(before.month, 12u);
  EXPECT_EQ(before.day, 31u);
  EXPECT_EQ(before.hour, 23u);
  EXPECT_EQ(before.minute, 59u);
  EXPECT_EQ(before.second, 59u);
  const CivilTime leap = ToCivilTime(1709164800 + 86399);  // 2024-02-29
  EXPECT_EQ(leap.year, 2024);
  EXPECT_EQ(leap.month, 2u);
  EXPECT_EQ(leap.day, 29u);
  EXPECT_EQ(leap.hour, 23u);
  // The earliest second whose year still prints as four digits.
  const CivilTime year0 = ToCivilTime(-62167219200);
  EXPECT_EQ(year0.year, 0);
  EXPECT_EQ(year0.month, 1u);
  EXPECT_EQ(year0.day, 1u);
}

}  // namespace
}  // namespace caravan::protocol
