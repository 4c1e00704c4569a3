#include "crypto/identity_x25519.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/seal.h"

namespace caravan::crypto {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(IdentityX25519Test, SecretAndPublicHalvesMatch) {
  auto identity = IdentityKey::Generate();
  auto pub = IdentityToX25519Public(identity->public_key());
  ASSERT_TRUE(pub.has_value());
  auto key = IdentityToX25519Key(*identity);
  EXPECT_EQ(key->public_key(), *pub);
}

TEST(IdentityX25519Test, DeterministicPerIdentityAndDistinctAcrossIdentities) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 7;
  auto a1 = IdentityKey::FromSeed(seed);
  auto a2 = IdentityKey::FromSeed(seed);
  auto b = IdentityKey::Generate();
  EXPECT_EQ(IdentityToX25519Key(*a1)->public_key(),
            IdentityToX25519Key(*a2)->public_key());
  EXPECT_NE(IdentityToX25519Key(*a1)->public_key(),
            IdentityToX25519Key(*b)->public_key());
}

TEST(IdentityX25519Test, EnvelopeSealedToIdentityOpensOnlyForThatIdentity) {
  auto recipient = IdentityKey::Generate();
  auto outsider = IdentityKey::Generate();
  auto pub = IdentityToX25519Public(recipient->public_key());
  ASSERT_TRUE(pub.has_value());
  auto env = Seal(Bytes("hdr"), Bytes("signed records"), {*pub});
  ASSERT_TRUE(env.has_value());
  auto opened = Open(*env, *IdentityToX25519Key(*recipient));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->plaintext, Bytes("signed records"));
  EXPECT_FALSE(Open(*env, *IdentityToX25519Key(*outsider)).has_value());
}

TEST(IdentityX25519Test, InvalidEd25519PointIsRefused) {
  // y = 2 is not on the curve's Ed25519 encoding of any point.
  Ed25519PublicKey bad{};
  bad[0] = 2;
  EXPECT_FALSE(IdentityToX25519Public(bad).has_value());
  // The all-zero encoding is a small-order point: refused too.
  Ed25519PublicKey zero{};
  EXPECT_FALSE(IdentityToX25519Public(zero).has_value());
}

}  // namespace
}  // namespace caravan::crypto

#include "crypto/sealed_batch_signature.h"

namespace caravan::crypto {
namespace {

TEST(SealedBatchSignatureTest, VerifiesOnlyTheSignedHeaderBatchAndSender) {
  auto sender = IdentityKey::Generate();
  auto other = IdentityKey::Generate();
  auto header = Bytes("header");
  auto batch = Bytes("batch");
  auto sig = SignSealedBatch(*sender, header, batch);
  EXPECT_TRUE(VerifySealedBatch(sender->public_key(), header, batch, sig));
  EXPECT_FALSE(VerifySealedBatch(other->public_key(), header, batch, sig));
  EXPECT_FALSE(VerifySealedBatch(sender->public_key(), Bytes("headeR"), batch,
                                 sig));
  EXPECT_FALSE(VerifySealedBatch(sender->public_key(), header, Bytes("batcH"),
                                 sig));
  // The header length is bound: moving bytes between header and batch
  // changes the message.
  EXPECT_FALSE(VerifySealedBatch(sender->public_key(), Bytes("headerb"),
                                 Bytes("atch"), sig));
}

}  // namespace
}  // namespace caravan::crypto
