#include "crypto/identity_rotation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace caravan::crypto {
namespace {

constexpr int64_t kT = 1'800'000'000;

struct Keys {
  std::unique_ptr<IdentityKey> k0 = IdentityKey::Generate();
  std::unique_ptr<IdentityKey> k1 = IdentityKey::Generate();
};

TEST(IdentityRotationTest, SignEncodeParseVerifyRoundTrip) {
  Keys k;
  const RotationStatement s = SignRotation(*k.k0, *k.k1, kT, kT - 10);
  const std::vector<uint8_t> bytes = EncodeRotationStatement(s);
  ASSERT_EQ(bytes.size(), kRotationStatementBytes);
  std::string error;
  auto back = ReadRotationStatement(bytes, &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->old_key, k.k0->public_key());
  EXPECT_EQ(back->new_key, k.k1->public_key());
  EXPECT_EQ(back->rotated_at, kT);
  EXPECT_EQ(back->issued_at, kT - 10);
}

TEST(IdentityRotationTest, RefusesAStatementNotSignedByTheOldKey) {
  Keys k;
  auto thief = IdentityKey::Generate();
  // The thief signs "old key" with its own key but claims K0.
  RotationStatement s = SignRotation(*thief, *k.k1, kT, kT);
  s.old_key = k.k0->public_key();
  std::string error;
  EXPECT_FALSE(VerifyRotationSignatures(s, &error));
  EXPECT_EQ(error, "rotation statement is not signed by the old key");
}

TEST(IdentityRotationTest, RefusesAStatementNotSignedByTheNewKey) {
  Keys k;
  RotationStatement s = SignRotation(*k.k0, *k.k1, kT, kT);
  s.new_signature[0] ^= 1;
  std::string error;
  EXPECT_FALSE(VerifyRotationSignatures(s, &error));
  EXPECT_EQ(error, "rotation statement is not signed by the new key");
}

TEST(IdentityRotationTest, OneKeysSignatureCannotStandInForTheOther) {
  Keys k;
  RotationStatement s = SignRotation(*k.k0, *k.k1, kT, kT);
  // Domain separation: the old key's signature over the same fields does
  // not verify as a new-key signature, even with the keys swapped.
  RotationStatement swapped = s;
  swapped.new_signature = s.old_signature;
  EXPECT_FALSE(VerifyRotationSignatures(swapped));
}

TEST(IdentityRotationTest, ChangedFieldsBreakBothSignatures) {
  Keys k;
  const RotationStatement s = SignRotation(*k.k0, *k.k1, kT, kT);
  RotationStatement later = s;
  later.rotated_at += 1;
  EXPECT_FALSE(VerifyRotationSignatures(later));
  RotationStatement other_new = s;
  other_new.new_key = IdentityKey::Generate()->public_key();
  EXPECT_FALSE(VerifyRotationSignatures(other_new));
}

TEST(IdentityRotationTest, ParseRefusesWrongSizesWithAReason) {
  Keys k;
  std::vector<uint8_t> bytes = EncodeRotationStatement(SignRotation(*k.k0, *k.k1, kT, kT));
  std::string error;
  std::vector<uint8_t> shorter(bytes.begin(), bytes.end() - 1);
  EXPECT_FALSE(ParseRotationStatement(shorter, &error));
  EXPECT_EQ(error, "rotation statement is 208 bytes, expected 209");
  bytes.push_back(0);
  EXPECT_FALSE(ParseRotationStatement(bytes, &error));
  EXPECT_EQ(error, "rotation statement is 210 bytes, expected 209");
  EXPECT_FALSE(ParseRotationStatement({}, &error));
}

TEST(IdentityRotationTest, ParseRefusesAnUnknownVersion) {
  Keys k;
  std::vector<uint8_t> bytes = EncodeRotationStatement(SignRotation(*k.k0, *k.k1, kT, kT));
  bytes[0] = 2;
  std::string error;
  EXPECT_FALSE(ParseRotationStatement(bytes, &error));
  EXPECT_EQ(error, "rotation statement version 2 is not supported (expected 1)");
}

TEST(IdentityRotationTest, ParseRefusesBadFields) {
  Keys k;
  const RotationStatement good = SignRotation(*k.k0, *k.k1, kT, kT);
  std::string error;
  RotationStatement same = good;
  same.new_key = same.old_key;
  EXPECT_FALSE(ParseRotationStatement(EncodeRotationStatement(same), &error));
  EXPECT_EQ(error, "rotation statement names the same key twice");
  RotationStatement backdated = good;
  backdated.rotated_at = good.issued_at - 1;
  EXPECT_FALSE(ParseRotationStatement(EncodeRotationStatement(backdated), &error));
  EXPECT_NE(error.find("retroactively"), std::string::npos);
  RotationStatement far = good;
  far.rotated_at = good.issued_at + kMaxRotationLeadSeconds + 1;
  EXPECT_FALSE(ParseRotationStatement(EncodeRotationStatement(far), &error));
  EXPECT_NE(error.find("7 days"), std::string::npos);
  RotationStatement negative = good;
  negative.issued_at = -5;
  negative.rotated_at = -1;
  EXPECT_FALSE(ParseRotationStatement(EncodeRotationStatement(negative), &error));
  EXPECT_EQ(error, "rotation statement times must be positive");
}

TEST(IdentityRotationTest, ChainOfTwoRotationsEachVerifies) {
  Keys k;
  auto k2 = IdentityKey::Generate();
  const auto first = SignRotation(*k.k0, *k.k1, kT, kT);
  const auto second = SignRotation(*k.k1, *k2, kT + 100, kT + 100);
  EXPECT_TRUE(ReadRotationStatement(EncodeRotationStatement(first)));
  EXPECT_TRUE(ReadRotationStatement(EncodeRotationStatement(second)));
  EXPECT_EQ(first.new_key, second.old_key);
}

}  // namespace
}  // namespace caravan::crypto
