#include "crypto/key_text.h"

#include <gtest/gtest.h>

namespace caravan::crypto {
namespace {

TEST(KeyTextTest, RoundTrip) {
  for (int i = 0; i < 20; ++i) {
    auto key = IdentityKey::Generate();
    std::string text = KeyText(key->public_key());
    EXPECT_TRUE(text.starts_with("caravan:"));
    EXPECT_EQ(text.size(), 8u + 43u);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto parsed = ParseKeyText(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, key->public_key());
  }
}

TEST(KeyTextTest, KnownValue) {
  Ed25519PublicKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(KeyText(k), "caravan:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
}

TEST(KeyTextTest, RejectsAnythingNotExactlyCanonical) {
  Ed25519PublicKey k{};
  k.fill(0xfb);  // base64url uses '-' and '_' here
  const std::string good = KeyText(k);
  ASSERT_TRUE(ParseKeyText(good).has_value());
  const std::string body = good.substr(8);
  for (const std::string& bad : {
           std::string(""),
           std::string("caravan:"),
           body,                                   // no prefix
           "Caravan:" + body,                      // wrong case prefix
           "caravan: " + body,                     // whitespace
           good + "\n",                            // trailing newline
           good + "=",                             // padding
           good.substr(0, good.size() - 1),        // truncated
           good + "A",                             // too long
           "caravan:" + std::string(43, '+'),      // standard alphabet
           "caravan:" + body.substr(0, 42) + "_",  // non-zero trailing bits
       }) {
    EXPECT_FALSE(ParseKeyText(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(KeyTextTest, FingerprintShapeAndStability) {
  Ed25519PublicKey k{};
  std::string fp = Fingerprint(k);
  ASSERT_EQ(fp.size(), 24u);  // 5 groups of 4 + 4 separators
  for (size_t i = 0; i < fp.size(); ++i) {
    if (i % 5 == 4) {
      EXPECT_EQ(fp[i], ':');
    } else {
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(fp[i])) && !std::isupper(fp[i]));
    }
  }
  EXPECT_EQ(fp, Fingerprint(k));
  k[31] = 1;
  EXPECT_NE(fp, Fingerprint(k));
}

TEST(KeyTextTest, Hex) {
  std::vector<uint8_t> bytes{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(ToHex(bytes), "0001abff");
  EXPECT_EQ(FromHex("0001abff"), bytes);
  EXPECT_EQ(FromHex("0001ABFF"), bytes);
  EXPECT_EQ(FromHex(""), std::vector<uint8_t>{});
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_FALSE(FromHex("00 01").has_value());
  EXPECT_FALSE(FromHex("0x00").has_value());
}

}  // namespace
}  // namespace caravan::crypto
