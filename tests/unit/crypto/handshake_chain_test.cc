// The rotation chain after the link certificate in a handshake payload
// (crypto/handshake_chain.h; docs/wire.md, "Rotation chain"): what splits,
// what is refused and why, and what a node sends.
#include "crypto/handshake_chain.h"

#include <gtest/gtest.h>

#include "crypto/link_certificate.h"
#include "crypto/link_key.h"

namespace caravan::crypto {
namespace {

constexpr int64_t kT = 1'800'000'000;

struct Keys {
  std::unique_ptr<IdentityKey> k0 = IdentityKey::Generate();
  std::unique_ptr<IdentityKey> k1 = IdentityKey::Generate();
  std::unique_ptr<IdentityKey> k2 = IdentityKey::Generate();
  std::unique_ptr<LinkKey> link = LinkKey::Generate();
  RotationStatement first = SignRotation(*k0, *k1, kT, kT);
  RotationStatement second = SignRotation(*k1, *k2, kT + 60, kT + 60);
};

std::vector<uint8_t> Payload(const IdentityKey& id, const LinkKey& link, uint64_t serial,
                             const std::vector<RotationStatement>& chain) {
  std::vector<uint8_t> p = BuildLinkPayload(id, link.public_key(), serial, serial ? kT : 0);
  const auto tail = EncodeHandshakeChain(chain);
  p.insert(p.end(), tail.begin(), tail.end());
  return p;
}

TEST(HandshakeChain, CertificateAloneSplitsWithAnEmptyChain) {
  Keys k;
  for (uint64_t serial : {0u, 3u}) {
    const auto p = Payload(*k.k0, *k.link, serial, {});
    auto split = SplitHandshakePayload(p);
    ASSERT_TRUE(split);
    EXPECT_EQ(split->certificate.size(), serial ? 112u : 96u);
    EXPECT_TRUE(split->chain.empty());
    EXPECT_TRUE(VerifyLinkPayload(split->certificate, k.link->public_key()));
  }
}

TEST(HandshakeChain, ChainOfTwoSplitsInOrderAndEndsAtTheCertificatesKey) {
  Keys k;
  const auto p = Payload(*k.k2, *k.link, 5, {k.first, k.second});
  EXPECT_EQ(p.size(), 112u + 2 * kRotationStatementBytes);
  auto split = SplitHandshakePayload(p);
  ASSERT_TRUE(split);
  ASSERT_EQ(split->chain.size(), 2u);
  EXPECT_EQ(split->chain[0], k.first);
  EXPECT_EQ(split->chain[1], k.second);
  auto cert = VerifyLinkPayload(split->certificate, k.link->public_key());
  ASSERT_TRUE(cert);
  EXPECT_TRUE(ChainEndsAt(split->chain, cert->identity));
  EXPECT_FALSE(ChainEndsAt(split->chain, k.k1->public_key()));
}

TEST(HandshakeChain, RefusesEveryWrongShapeSayingWhy) {
  Keys k;
  std::string why;
  // Not contiguous: K0 -> K1 then K0 -> K1 again.
  EXPECT_FALSE(SplitHandshakePayload(Payload(*k.k1, *k.link, 0, {k.first, k.first}), &why));
  EXPECT_NE(why.find("does not follow"), std::string::npos) << why;
  // A torn statement, and more than the maximum.
  auto p = Payload(*k.k1, *k.link, 0, {k.first});
  p.pop_back();
  EXPECT_FALSE(SplitHandshakePayload(p, &why));
  EXPECT_NE(why.find("bytes"), std::string::npos) << why;
  std::vector<uint8_t> five = BuildLinkPayload(*k.k1, k.link->public_key(), 0, 0);
  for (int i = 0; i < 5; ++i) {
    const auto s = EncodeRotationStatement(k.first);
    five.insert(five.end(), s.begin(), s.end());
  }
  EXPECT_FALSE(IsHandshakePayloadSize(five.size()));
  EXPECT_FALSE(SplitHandshakePayload(five, &why));
  // A statement whose version byte is wrong.
  auto bad = Payload(*k.k1, *k.link, 0, {k.first});
  bad[96] = 9;
  EXPECT_FALSE(SplitHandshakePayload(bad, &why));
  EXPECT_NE(why.find("statement 1"), std::string::npos) << why;
}

TEST(HandshakeChain, SendsOnlyTheLastFourStatements) {
  std::vector<std::unique_ptr<IdentityKey>> keys;
  for (int i = 0; i < 7; ++i) keys.push_back(IdentityKey::Generate());
  std::vector<RotationStatement> chain;
  for (int i = 0; i + 1 < 7; ++i) chain.push_back(SignRotation(*keys[i], *keys[i + 1], kT + i, kT + i));
  const auto bytes = EncodeHandshakeChain(chain);
  EXPECT_EQ(bytes.size(), kMaxHandshakeChain * kRotationStatementBytes);
  auto first = ParseRotationStatement(std::span<const uint8_t>(bytes).first(kRotationStatementBytes));
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, chain[2]);
}

}  // namespace
}  // namespace caravan::crypto
