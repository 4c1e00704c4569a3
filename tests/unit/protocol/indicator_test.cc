#include "protocol/indicator.h"

#include <gtest/gtest.h>

namespace caravan::protocol {
namespace {

TEST(IndicatorNames, TypeNamesRoundTrip) {
  for (int i = 0; i < kIndicatorTypeCount; ++i) {
    const auto t = static_cast<IndicatorType>(i);
    auto parsed = ParseTypeName(TypeName(t));
    ASSERT_TRUE(parsed.has_value()) << TypeName(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(ParseTypeName("SHA256"), IndicatorType::kSha256);
  EXPECT_FALSE(ParseTypeName("sha512").has_value());
  EXPECT_FALSE(ParseTypeName("").has_value());
  EXPECT_EQ(TypeName(static_cast<IndicatorType>(77)), "unknown");
}

TEST(IndicatorNames, TlpNames) {
  EXPECT_EQ(TlpName(Tlp::kAmberStrict), "amber+strict");
  EXPECT_EQ(ParseTlpName("amber+strict"), Tlp::kAmberStrict);
  EXPECT_EQ(ParseTlpName("AMBER+STRICT"), Tlp::kAmberStrict);
  EXPECT_EQ(ParseTlpName("TLP:AMBER"), Tlp::kAmber);
  EXPECT_EQ(ParseTlpName("tlp:red"), Tlp::kRed);
  EXPECT_EQ(ParseTlpName("Clear"), Tlp::kClear);
  EXPECT_EQ(ParseTlpName("white"), Tlp::kClear);  // TLP 1.0 spelling
  EXPECT_FALSE(ParseTlpName("amber strict").has_value());
  EXPECT_FALSE(ParseTlpName("TLP:").has_value());
  EXPECT_FALSE(ParseTlpName("purple").has_value());
  for (int i = 0; i <= 4; ++i) {
    EXPECT_EQ(ParseTlpName(TlpName(static_cast<Tlp>(i))), static_cast<Tlp>(i));
  }
}

TEST(IndicatorNames, ReshareNames) {
  EXPECT_EQ(ReshareName(Reshare::kFederation), "federation");
  EXPECT_EQ(ParseReshareName("Direct"), Reshare::kDirect);
  EXPECT_EQ(ParseReshareName("none"), Reshare::kNone);
  EXPECT_FALSE(ParseReshareName("all").has_value());
}

}  // namespace
}  // namespace caravan::protocol
