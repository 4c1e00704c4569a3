#include "protocol/id_prefix.h"

#include <gtest/gtest.h>

#include "protocol/record_codec.h"

namespace caravan::protocol {
namespace {

TEST(IdPrefix, EvenPrefixBoundsTheRange) {
  auto p = ParseIdPrefix("507FDA");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->hex, "507fda");
  EXPECT_FALSE(p->exact());
  EXPECT_EQ(IdToHex(p->low), "507fda" + std::string(58, '0'));
  EXPECT_EQ(IdToHex(p->high), "507fda" + std::string(58, 'f'));
}

TEST(IdPrefix, OddPrefixSplitsAByte) {
  auto p = ParseIdPrefix("507fda2");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(IdToHex(p->low), "507fda20" + std::string(56, '0'));
  EXPECT_EQ(IdToHex(p->high), "507fda2f" + std::string(56, 'f'));
}

TEST(IdPrefix, FullIdIsExact) {
  const std::string full(64, 'a');
  auto p = ParseIdPrefix(full);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->exact());
  EXPECT_EQ(p->low, p->high);
  EXPECT_EQ(IdToHex(p->low), full);
}

TEST(IdPrefix, RefusesWhatIsNotAPrefix) {
  auto short_one = ParseIdPrefix("507fd");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.status().message(),
            "id prefix '507fd' is too short: give at least 6 hex digits");
  auto not_hex = ParseIdPrefix("507fdz");
  ASSERT_FALSE(not_hex.ok());
  EXPECT_NE(not_hex.status().message().find("'507fdz' is not an indicator id"),
            std::string::npos);
  EXPECT_FALSE(ParseIdPrefix(std::string(65, 'a')).ok());
  EXPECT_FALSE(ParseIdPrefix("").ok());
}

TEST(IdPrefix, LooksLikeIdPrefix) {
  EXPECT_TRUE(LooksLikeIdPrefix("abcdef"));
  EXPECT_TRUE(LooksLikeIdPrefix(std::string(64, 'F')));
  EXPECT_FALSE(LooksLikeIdPrefix("abcde"));
  EXPECT_FALSE(LooksLikeIdPrefix("1.2.3.4"));
  EXPECT_FALSE(LooksLikeIdPrefix(std::string(65, 'a')));
}

}  // namespace
}  // namespace caravan::protocol
