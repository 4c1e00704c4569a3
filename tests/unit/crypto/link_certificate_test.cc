#include "crypto/link_certificate.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::crypto {
namespace {

TEST(LinkCertificateTest, MessageBytes) {
  X25519PublicKey lk{};
  lk.fill(0xee);
  auto msg = LinkCertificateMessage(lk);
  EXPECT_EQ(std::string(msg.begin(), msg.begin() + 18), "caravan/1 link key");
  EXPECT_TRUE(std::equal(lk.begin(), lk.end(), msg.begin() + 18));
}

TEST(LinkCertificateTest, GoodAndBad) {
  auto id = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  auto sig = CertifyLinkKey(*id, link->public_key());
  EXPECT_TRUE(VerifyLinkCertificate(id->public_key(), link->public_key(), sig));
  auto other_link = LinkKey::Generate();
  EXPECT_FALSE(VerifyLinkCertificate(id->public_key(), other_link->public_key(), sig));
  auto other_id = IdentityKey::Generate();
  EXPECT_FALSE(VerifyLinkCertificate(other_id->public_key(), link->public_key(), sig));
  sig[63] ^= 0x80;
  EXPECT_FALSE(VerifyLinkCertificate(id->public_key(), link->public_key(), sig));
}

TEST(LinkCertificateTest, HandshakePayload) {
  auto id = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  HandshakePayload p = BuildHandshakePayload(*id, link->public_key());
  EXPECT_TRUE(std::equal(id->public_key().begin(), id->public_key().end(), p.begin()));
  auto who = VerifyHandshakePayload(p, link->public_key());
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(*who, id->public_key());

  // Bound to the handshake's static key: replaying it with another fails.
  auto mitm = LinkKey::Generate();
  EXPECT_FALSE(VerifyHandshakePayload(p, mitm->public_key()).has_value());
  // Exactly 96 bytes.
  std::vector<uint8_t> longer(p.begin(), p.end());
  longer.push_back(0);
  EXPECT_FALSE(VerifyHandshakePayload(longer, link->public_key()).has_value());
  EXPECT_FALSE(VerifyHandshakePayload(std::span(p).first(95), link->public_key()).has_value());
  EXPECT_FALSE(VerifyHandshakePayload({}, link->public_key()).has_value());
  // Swapping in another identity key breaks the signature.
  auto other = IdentityKey::Generate();
  HandshakePayload forged = p;
  std::copy(other->public_key().begin(), other->public_key().end(), forged.begin());
  EXPECT_FALSE(VerifyHandshakePayload(forged, link->public_key()).has_value());
}

}  // namespace
}  // namespace caravan::crypto
