#include "crypto/link_certificate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

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

// ---- rotated link keys (serial >= 1, the 112-byte form) ----

TEST(LinkCertificateTest, RotatedPayloadRoundTrips) {
  auto id = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  const auto p = BuildLinkPayload(*id, link->public_key(), 42, 1764900000);
  ASSERT_EQ(p.size(), kHandshakePayloadV2Size);
  std::string error;
  auto cert = VerifyLinkPayload(p, link->public_key(), &error);
  ASSERT_TRUE(cert.has_value()) << error;
  EXPECT_EQ(cert->identity, id->public_key());
  EXPECT_EQ(cert->serial, 42u);
  EXPECT_EQ(cert->not_before, 1764900000);
  // Serial 0 is the original 96-byte form, verifiable by older code.
  const auto v1 = BuildLinkPayload(*id, link->public_key(), 0, 1764900000);
  ASSERT_EQ(v1.size(), kHandshakePayloadSize);
  auto cert0 = VerifyLinkPayload(v1, link->public_key());
  ASSERT_TRUE(cert0.has_value());
  EXPECT_EQ(cert0->serial, 0u);
  EXPECT_TRUE(VerifyHandshakePayload(p, link->public_key()).has_value());
}

TEST(LinkCertificateTest, RotatedPayloadRefusesWrongSigner) {
  auto id = IdentityKey::Generate();
  auto thief = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  // Signed by another key but naming `id`: the identity field is swapped.
  auto p = BuildLinkPayload(*thief, link->public_key(), 5, 100);
  std::copy(id->public_key().begin(), id->public_key().end(), p.begin());
  std::string error;
  EXPECT_FALSE(VerifyLinkPayload(p, link->public_key(), &error).has_value());
  EXPECT_NE(error.find("does not verify"), std::string::npos) << error;
}

TEST(LinkCertificateTest, RotatedPayloadRefusesAnotherIdentitysCertificate) {
  // A certificate issued for another node's link key does not stand for
  // this handshake's static key, and one issued to one identity cannot be
  // claimed by another: the identity is inside the signed bytes.
  auto id = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  auto other_link = LinkKey::Generate();
  const auto p = BuildLinkPayload(*id, other_link->public_key(), 5, 100);
  EXPECT_FALSE(VerifyLinkPayload(p, link->public_key()).has_value());
  const auto msg_a =
      LinkCertificateMessageV2(id->public_key(), link->public_key(), 5, 100);
  auto other_id = IdentityKey::Generate();
  const auto msg_b =
      LinkCertificateMessageV2(other_id->public_key(), link->public_key(), 5, 100);
  EXPECT_NE(msg_a, msg_b);
  EXPECT_EQ(std::string(msg_a.begin(), msg_a.begin() + 18), "caravan/2 link key");
}

TEST(LinkCertificateTest, RotatedPayloadBindsSerialAndNotBefore) {
  // Replaying an old certificate under a higher serial (to get past the
  // peers' "highest serial seen") breaks its signature.
  auto id = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  auto p = BuildLinkPayload(*id, link->public_key(), 3, 100);
  auto raised = p;
  raised[32 + 7] = 9;  // serial 3 -> 9
  std::string error;
  EXPECT_FALSE(VerifyLinkPayload(raised, link->public_key(), &error).has_value());
  auto later = p;
  later[32 + 15] ^= 1;  // not_before
  EXPECT_FALSE(VerifyLinkPayload(later, link->public_key()).has_value());
  // A serial-1 certificate cut down to the 96-byte form is not a serial-0 one.
  std::vector<uint8_t> v1(p.begin(), p.begin() + 32);
  v1.insert(v1.end(), p.end() - 64, p.end());
  EXPECT_FALSE(VerifyLinkPayload(v1, link->public_key()).has_value());
}

TEST(LinkCertificateTest, MalformedPayloadsAreRefusedWithAReason) {
  auto id = IdentityKey::Generate();
  auto link = LinkKey::Generate();
  const auto p = BuildLinkPayload(*id, link->public_key(), 1, 100);
  std::string error;
  for (size_t size : {size_t{0}, size_t{1}, size_t{95}, size_t{97}, size_t{111}, size_t{113}}) {
    std::vector<uint8_t> bytes(size, 0xab);
    error.clear();
    EXPECT_FALSE(ParseLinkPayload(bytes, &error).has_value()) << size;
    EXPECT_NE(error.find("neither 96 nor 112"), std::string::npos) << error;
  }
  // The 112-byte form with serial 0 (one certificate, one encoding).
  auto zero = p;
  std::fill(zero.begin() + 32, zero.begin() + 40, 0);
  error.clear();
  EXPECT_FALSE(ParseLinkPayload(zero, &error).has_value());
  EXPECT_NE(error.find("serial 0"), std::string::npos) << error;
  // Fields parse as written: big-endian serial and not-before.
  auto max = p;
  std::fill(max.begin() + 32, max.begin() + 40, 0xff);
  auto parsed = ParseLinkPayload(max);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->serial, UINT64_MAX);
  EXPECT_EQ(parsed->not_before, 100);
}

}  // namespace
}  // namespace caravan::crypto
