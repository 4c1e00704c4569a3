#include "daemon/sync/hub_envelope.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "crypto/identity_x25519.h"
#include "crypto/seal.h"
#include "crypto/sealed_batch_signature.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;
using testing::SignedBy;

constexpr size_t kMax = 16 * 1024 * 1024;

struct Trio {
  Member a{"CERT-A", "KZ"};
  Member h{"HUB", "DE"};
  Member c{"CERT-C", "UZ"};

  SealedHeaderInfo Header(uint64_t first, uint64_t up_to) const {
    SealedHeaderInfo h;
    h.envelope_id = NewEnvelopeId();
    h.sender_name = a.name;
    h.sender_key = a.key->public_key();
    h.recipient_key = c.key->public_key();
    h.first_seq = first;
    h.up_to_seq = up_to;
    return h;
  }
};

bool Contains(const std::vector<uint8_t>& hay, const std::string& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) !=
         hay.end();
}

TEST(HubEnvelopeTest, RecipientOpensWhatTheSenderSealed) {
  Trio t;
  auto header = t.Header(3, 7);
  std::vector<std::pair<uint64_t, protocol::SignedRecord>> entries = {
      {3, SignedBy(t.a, "one.example")}, {6, SignedBy(t.a, "two.example")}};
  auto env = SealBatch(header, entries, *t.a.key, kMax);
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto opened = OpenSealed(*env, *me, t.c.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->header, header);
  ASSERT_EQ(opened->entries.size(), 2u);
  EXPECT_EQ(opened->entries[0].sender_seq, 3u);
  EXPECT_EQ(opened->entries[1].sender_seq, 6u);
  EXPECT_EQ(opened->entries[1].record.body, entries[1].second.body);
}

TEST(HubEnvelopeTest, HubReadsTheHeaderButNotTheRecords) {
  Trio t;
  auto header = t.Header(1, 1);
  auto env = SealBatch(header, {{1, SignedBy(t.a, "secret-value.example")}},
                       *t.a.key, kMax);
  ASSERT_TRUE(env.ok());
  auto seen = InspectSealed(*env, kMax);
  ASSERT_TRUE(seen.ok()) << seen.status().message();
  EXPECT_EQ(*seen, header);
  EXPECT_FALSE(Contains(*env, "secret-value.example"));
  auto hub_key = crypto::IdentityToX25519Key(*t.h.key);
  EXPECT_FALSE(crypto::Open(*env, *hub_key).has_value());
  auto as_hub = OpenSealed(*env, *hub_key, t.h.key->public_key(), kMax);
  ASSERT_FALSE(as_hub.ok());
  EXPECT_NE(as_hub.status().message().find("another member"),
            std::string::npos);
}

TEST(HubEnvelopeTest, AnyChangedByteIsRefused) {
  Trio t;
  auto env = SealBatch(t.Header(1, 2), {{2, SignedBy(t.a, "x.example")}},
                       *t.a.key, kMax);
  ASSERT_TRUE(env.ok());
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  for (size_t i = 0; i < env->size(); i += 7) {
    auto bad = *env;
    bad[i] ^= 0x01;
    EXPECT_FALSE(OpenSealed(bad, *me, t.c.key->public_key(), kMax).ok())
        << "byte " << i;
  }
}

TEST(HubEnvelopeTest, ABatchSealedInTheSendersNameByAnotherIsRefused) {
  // The hub (or anyone) can seal to C; it cannot sign as A.
  Trio t;
  auto header = t.Header(1, 1);
  EXPECT_FALSE(SealBatch(header, {}, *t.h.key, kMax).ok());
  const auto header_bytes = EncodeSealedHeader(header);
  std::vector<uint8_t> batch(8, 0);  // whatever; the signature fails first
  auto sig = crypto::SignSealedBatch(*t.h.key, header_bytes, batch);
  std::vector<uint8_t> plaintext(sig.begin(), sig.end());
  plaintext.insert(plaintext.end(), batch.begin(), batch.end());
  auto x = crypto::IdentityToX25519Public(t.c.key->public_key());
  auto forged = crypto::Seal(header_bytes, plaintext, {*x});
  ASSERT_TRUE(forged.has_value());
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto opened = OpenSealed(*forged, *me, t.c.key->public_key(), kMax);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("not signed by the sender"),
            std::string::npos);
}

TEST(HubEnvelopeTest, EnvelopeForAnotherKeyThanItsHeaderIsRefused) {
  Trio t;
  auto header = t.Header(1, 1);
  const auto header_bytes = EncodeSealedHeader(header);
  auto wrong = crypto::IdentityToX25519Public(t.h.key->public_key());
  auto env = crypto::Seal(header_bytes, std::vector<uint8_t>(72, 1), {*wrong});
  ASSERT_TRUE(env.has_value());
  auto seen = InspectSealed(*env, kMax);
  ASSERT_FALSE(seen.ok());
  EXPECT_NE(seen.status().message().find("not wrapped for the recipient"),
            std::string::npos);
}

TEST(HubEnvelopeTest, LimitsAreEnforced) {
  Trio t;
  std::vector<std::pair<uint64_t, protocol::SignedRecord>> many;
  for (uint64_t i = 1; i <= 50; ++i) {
    many.push_back({i, SignedBy(t.a, "n" + std::to_string(i) + ".example")});
  }
  auto too_big = SealBatch(t.Header(1, 50), many, *t.a.key, 2048);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("exceeds the envelope limit"),
            std::string::npos);
  auto env = SealBatch(t.Header(1, 50), many, *t.a.key, kMax);
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(InspectSealed(*env, env->size() - 1).ok());
  EXPECT_TRUE(InspectSealed(*env, env->size()).ok());
  // An entry below the header's range is refused when sealing.
  EXPECT_FALSE(SealBatch(t.Header(5, 9), {{4, SignedBy(t.a, "y.example")}},
                         *t.a.key, kMax)
                   .ok());
}

TEST(HubEnvelopeTest, HeaderDecodingRefusesMalformedInput) {
  Trio t;
  EXPECT_FALSE(DecodeSealedHeader({}).ok());
  std::vector<uint8_t> odd(13, 0);
  EXPECT_FALSE(DecodeSealedHeader(odd).ok());
  std::vector<uint8_t> junk(64, 0xff);
  EXPECT_FALSE(DecodeSealedHeader(junk).ok());
  auto reversed = t.Header(9, 3);
  auto r = DecodeSealedHeader(EncodeSealedHeader(reversed));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("above upToSeq"), std::string::npos);
  auto nameless = t.Header(1, 1);
  nameless.sender_name.clear();
  EXPECT_FALSE(DecodeSealedHeader(EncodeSealedHeader(nameless)).ok());
  auto good = t.Header(1, 1);
  auto back = DecodeSealedHeader(EncodeSealedHeader(good));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, good);
}

}  // namespace
}  // namespace caravan::daemon::sync
