#include "crypto/signing.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string_view>

namespace caravan::crypto {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(SigningTest, PrefixBytesAreExactlyAsDocumented) {
  auto rec = SignDomainPrefix(SignDomain::kRecord);
  EXPECT_EQ(std::string(rec.begin(), rec.end()), std::string("caravan/1 record\0", 17));
  auto root = SignDomainPrefix(SignDomain::kBatchRoot);
  EXPECT_EQ(std::string(root.begin(), root.end()),
            std::string("caravan/1 batch root\0", 21));
}

TEST(SigningTest, SignVerify) {
  auto key = IdentityKey::Generate();
  auto sig = Sign(*key, SignDomain::kRecord, Bytes("record bytes"));
  EXPECT_TRUE(Verify(key->public_key(), SignDomain::kRecord, Bytes("record bytes"), sig));
  EXPECT_FALSE(Verify(key->public_key(), SignDomain::kRecord, Bytes("record bytez"), sig));
  auto other = IdentityKey::Generate();
  EXPECT_FALSE(Verify(other->public_key(), SignDomain::kRecord, Bytes("record bytes"), sig));
  auto bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(Verify(key->public_key(), SignDomain::kRecord, Bytes("record bytes"), bad));
}

TEST(SigningTest, DomainSeparation) {
  auto key = IdentityKey::Generate();
  auto msg = Bytes("same bytes");
  auto rec = Sign(*key, SignDomain::kRecord, msg);
  auto root = Sign(*key, SignDomain::kBatchRoot, msg);
  EXPECT_FALSE(Verify(key->public_key(), SignDomain::kBatchRoot, msg, rec));
  EXPECT_FALSE(Verify(key->public_key(), SignDomain::kRecord, msg, root));
  // Nor does a raw signature over the bare message verify in any domain.
  auto raw = key->SignRaw(msg);
  EXPECT_FALSE(Verify(key->public_key(), SignDomain::kRecord, msg, raw));
}

TEST(SigningTest, EqualsRawEd25519OverPrefixedMessage) {
  auto key = IdentityKey::Generate();
  std::string m = std::string("caravan/1 record\0", 17) + "payload";
  auto sig = Sign(*key, SignDomain::kRecord, Bytes("payload"));
  EXPECT_EQ(crypto_sign_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(m.data()),
                                        m.size(), key->public_key().data()),
            0);
}

TEST(SigningTest, FromSeedIsDeterministic) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 7;
  auto a = IdentityKey::FromSeed(seed);
  auto b = IdentityKey::FromSeed(seed);
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(a->SignRaw(Bytes("x")), b->SignRaw(Bytes("x")));
}

}  // namespace
}  // namespace caravan::crypto
