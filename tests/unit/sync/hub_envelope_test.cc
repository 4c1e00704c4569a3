#include "daemon/sync/hub_envelope.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
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
const ChainLink kFirst{1, {}};

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
  auto env = SealBatch(header, kFirst, entries, *t.a.key, kMax);
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
  auto env = SealBatch(header, kFirst,
                       {{1, SignedBy(t.a, "secret-value.example")}}, *t.a.key,
                       kMax);
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
  auto env = SealBatch(t.Header(1, 2), kFirst,
                       {{2, SignedBy(t.a, "x.example")}}, *t.a.key, kMax);
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
  EXPECT_FALSE(SealBatch(header, kFirst, {}, *t.h.key, kMax).ok());
  const auto header_bytes = EncodeSealedHeader(header);
  std::vector<uint8_t> batch(8, 0);  // whatever; the signature fails first
  auto sig = crypto::SignSealedBatch(*t.h.key, header_bytes, batch);
  std::vector<uint8_t> plaintext(sig.begin(), sig.end());
  plaintext.insert(plaintext.end(), batch.begin(), batch.end());
  plaintext.push_back(0x80);  // padded to the 1 KiB size class
  plaintext.resize(kSealedPadFloor, 0);
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
  auto env = crypto::Seal(header_bytes, std::vector<uint8_t>(1024, 1), {*wrong});
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
  auto too_big = SealBatch(t.Header(1, 50), kFirst, many, *t.a.key, 2048);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("exceeds the envelope limit"),
            std::string::npos);
  auto env = SealBatch(t.Header(1, 50), kFirst, many, *t.a.key, kMax);
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(InspectSealed(*env, env->size() - 1).ok());
  EXPECT_TRUE(InspectSealed(*env, env->size()).ok());
  // An entry below the header's range is refused when sealing.
  EXPECT_FALSE(SealBatch(t.Header(5, 9), kFirst,
                         {{4, SignedBy(t.a, "y.example")}}, *t.a.key, kMax)
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

// ---- Hub accountability: chain links, receipts, padding, refusals ----

TEST(HubEnvelopeTest, ChainLinkAndHashTravelInsideTheCiphertext) {
  Trio t;
  ChainLink link{7, {}};
  link.prev_hash.fill(0xab);
  auto env = SealBatch(t.Header(1, 1), link, {{1, SignedBy(t.a, "z.example")}},
                       *t.a.key, kMax);
  ASSERT_TRUE(env.ok()) << env.status().message();
  // Neither the pair seq nor the previous hash is readable outside.
  const std::string prev(32, static_cast<char>(0xab));
  EXPECT_FALSE(Contains(*env, prev));
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto opened = OpenSealed(*env, *me, t.c.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->inner.link, link);
  EXPECT_FALSE(opened->inner.receipt.has_value());
  EXPECT_EQ(opened->hash, EnvelopeHash(*env));
  EXPECT_FALSE(SealBatch(t.Header(1, 1), ChainLink{0, {}},
                         {{1, SignedBy(t.a, "z.example")}}, *t.a.key, kMax)
                   .ok());
}

// Hub delay: the sealing time is stated inside the signed ciphertext (the
// hub cannot read or change it) and is the sealing host's clock.
TEST(HubEnvelopeTest, SealingTimeTravelsSignedInsideTheCiphertext) {
  Trio t;
  const auto ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = ms();
  auto env = SealBatch(t.Header(1, 1), kFirst, {{1, SignedBy(t.a, "t.example")}},
                       *t.a.key, kMax);
  const int64_t after = ms();
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto opened = OpenSealed(*env, *me, t.c.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_GE(opened->inner.sealed_at_ms, before);
  EXPECT_LE(opened->inner.sealed_at_ms, after);
  // Receipts state it too.
  SealedHeaderInfo h = t.Header(0, 0);
  h.sender_name = t.c.name;
  h.sender_key = t.c.key->public_key();
  h.recipient_key = t.a.key->public_key();
  auto receipt = SealReceipt(h, SealedReceiptInfo{}, *t.c.key, kMax);
  ASSERT_TRUE(receipt.ok()) << receipt.status().message();
  auto a_me = crypto::IdentityToX25519Key(*t.a.key);
  auto r = OpenSealed(*receipt, *a_me, t.a.key->public_key(), kMax);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE(r->inner.sealed_at_ms, before);
  // Inner header round trip, and 0 (an older sender) reads as "not stated".
  SealedInnerInfo inner;
  inner.link = {4, {}};
  inner.sealed_at_ms = 1'700'000'000'123;
  auto back = DecodeSealedInner(EncodeSealedInner(inner));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->sealed_at_ms, inner.sealed_at_ms);
  inner.sealed_at_ms = 0;
  EXPECT_EQ(DecodeSealedInner(EncodeSealedInner(inner))->sealed_at_ms, 0);
}

TEST(HubEnvelopeTest, ChainRestartRoundTripsSignedByTheSender) {
  Trio t;
  SealedRestartInfo restart;
  restart.next_seq = 9;
  restart.prev_hash.fill(0x3c);
  restart.lost_from = 6;
  restart.reason = "outbox row unreadable";
  auto env = SealRestart(t.Header(0, 0), restart, *t.a.key, kMax);
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto opened = OpenSealed(*env, *me, t.c.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ASSERT_TRUE(opened->inner.restart.has_value());
  EXPECT_EQ(*opened->inner.restart, restart);
  EXPECT_FALSE(opened->inner.receipt.has_value());
  EXPECT_TRUE(opened->entries.empty());
  // Only its sender can sign it; it decides no log range; and it must
  // skip something (1 <= lostFrom < nextSeq) and say why.
  EXPECT_FALSE(SealRestart(t.Header(0, 0), restart, *t.h.key, kMax).ok());
  EXPECT_FALSE(SealRestart(t.Header(1, 1), restart, *t.a.key, kMax).ok());
  for (auto bad : {std::pair<uint64_t, uint64_t>{1, 1}, {9, 0}, {9, 9},
                   {9, 12}}) {
    SealedRestartInfo r = restart;
    r.next_seq = bad.first;
    r.lost_from = bad.second;
    auto sealed = SealRestart(t.Header(0, 0), r, *t.a.key, kMax);
    ASSERT_FALSE(sealed.ok()) << bad.first << " " << bad.second;
    EXPECT_NE(sealed.status().message().find("lostFrom"), std::string::npos);
  }
  SealedRestartInfo silent = restart;
  silent.reason.clear();
  EXPECT_FALSE(SealRestart(t.Header(0, 0), silent, *t.a.key, kMax).ok());
  // A restart and a receipt in one inner header: refused.
  SealedInnerInfo both;
  both.receipt = SealedReceiptInfo{};
  both.restart = restart;
  auto mixed = DecodeSealedInner(EncodeSealedInner(both));
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("no receipt"), std::string::npos);
}

TEST(HubEnvelopeTest, ReceiptRoundTripsSignedByTheRecipient) {
  Trio t;
  SealedHeaderInfo h;  // C answers A
  h.envelope_id = NewEnvelopeId();
  h.sender_name = t.c.name;
  h.sender_key = t.c.key->public_key();
  h.recipient_key = t.a.key->public_key();
  SealedReceiptInfo r;
  r.committed_seq = 4;
  r.committed_hash.fill(3);
  r.resend_from = 5;
  r.refused_envelope = NewEnvelopeId();
  r.refused_reason = "sealed envelope does not open";
  auto env = SealReceipt(h, r, *t.c.key, kMax);
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto me = crypto::IdentityToX25519Key(*t.a.key);
  auto opened = OpenSealed(*env, *me, t.a.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ASSERT_TRUE(opened->inner.receipt.has_value());
  EXPECT_EQ(*opened->inner.receipt, r);
  EXPECT_TRUE(opened->entries.empty());
  // A receipt signed by someone else than its header's sender (the hub
  // forging C's word) does not open as C's.
  EXPECT_FALSE(SealReceipt(h, r, *t.h.key, kMax).ok());
  // A receipt never carries a log range.
  auto ranged = h;
  ranged.up_to_seq = 3;
  EXPECT_FALSE(SealReceipt(ranged, r, *t.c.key, kMax).ok());
}

TEST(HubEnvelopeTest, InnerHeaderDecodingRefusesEveryMalformedForm) {
  EXPECT_FALSE(DecodeSealedInner({}).ok());
  EXPECT_FALSE(DecodeSealedInner(std::vector<uint8_t>(12, 0)).ok());
  EXPECT_FALSE(DecodeSealedInner(std::vector<uint8_t>(5000, 0)).ok());
  SealedInnerInfo batch;
  batch.link.pair_seq = 0;  // a batch needs pair seq >= 1
  auto zero = DecodeSealedInner(EncodeSealedInner(batch));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("pairSeq >= 1"), std::string::npos);
  SealedInnerInfo receipt;
  receipt.receipt = SealedReceiptInfo{};
  receipt.link.pair_seq = 2;  // a receipt is not chained
  EXPECT_FALSE(DecodeSealedInner(EncodeSealedInner(receipt)).ok());
  receipt.link.pair_seq = 0;
  receipt.receipt->committed_seq = 3;
  receipt.receipt->resend_from = 9;  // must be committed + 1
  auto skip = DecodeSealedInner(EncodeSealedInner(receipt));
  ASSERT_FALSE(skip.ok());
  EXPECT_NE(skip.status().message().find("resendFrom"), std::string::npos);
  SealedInnerInfo before_epoch;
  before_epoch.link.pair_seq = 1;
  before_epoch.sealed_at_ms = -5;  // a sealing time before 1970
  auto negative = DecodeSealedInner(EncodeSealedInner(before_epoch));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("sealedAtMs"), std::string::npos);
  receipt.receipt->resend_from = 4;
  auto fine = DecodeSealedInner(EncodeSealedInner(receipt));
  ASSERT_TRUE(fine.ok()) << fine.status().message();
  EXPECT_EQ(*fine, receipt);
  batch.link.pair_seq = 1;
  auto first = DecodeSealedInner(EncodeSealedInner(batch));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, batch);
}

TEST(HubEnvelopeTest, PaddingHidesTheSizeWithinItsClass) {
  EXPECT_EQ(PaddedPlaintextSize(1, kMax), 1024u);
  EXPECT_EQ(PaddedPlaintextSize(1023, kMax), 1024u);
  EXPECT_EQ(PaddedPlaintextSize(1024, kMax), 2048u);  // pad adds >= 1 byte
  EXPECT_EQ(PaddedPlaintextSize(65535, kMax), 65536u);
  // Above 64 KiB: eighths of each doubling, never finer than 64 KiB.
  EXPECT_EQ(PaddedPlaintextSize(65536, kMax), 131072u);
  EXPECT_EQ(PaddedPlaintextSize(131072, kMax), 196608u);
  EXPECT_EQ(PaddedPlaintextSize(300000, kMax), 327680u);  // 5 x 64 KiB
  EXPECT_EQ(PaddedPlaintextSize(700000, kMax), 720896u);  // a full page
  EXPECT_EQ(PaddedPlaintextSize(1048576, kMax), 1179648u);  // + 128 KiB
  EXPECT_EQ(PaddedPlaintextSize(1500000, kMax), 1572864u);
  EXPECT_EQ(PaddedPlaintextSize(9000000, kMax), 9437184u);  // + 1 MiB steps
  // A class that would not fit the limit: the next 64 KiB step instead.
  EXPECT_EQ(PaddedPlaintextSize(9000000, 9100000), 9043968u);
  EXPECT_EQ(PaddedPlaintextSize(600000, 600000), 0u);
  EXPECT_TRUE(IsSealedSizeClass(1024));
  EXPECT_TRUE(IsSealedSizeClass(655360));
  EXPECT_FALSE(IsSealedSizeClass(1000));
  EXPECT_FALSE(IsSealedSizeClass(3000));
  // Two batches of different sizes in one class seal to one size.
  Trio t;
  auto small = SealBatch(t.Header(1, 1), kFirst,
                         {{1, SignedBy(t.a, "a.example")}}, *t.a.key, kMax);
  auto larger = SealBatch(
      t.Header(1, 1), kFirst,
      {{1, SignedBy(t.a, "a-much-longer-name.example")}}, *t.a.key, kMax);
  ASSERT_TRUE(small.ok() && larger.ok());
  EXPECT_EQ(small->size(), larger->size());
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto opened = OpenSealed(*larger, *me, t.c.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok());
  EXPECT_GT(opened->padding, 0u);
  EXPECT_EQ(opened->entries.size(), 1u);
}

// The classes above 64 KiB (docs/federation.md, the class table): a fixed
// set of 54 up to 16 MiB, each one a receiver of any format-2 version
// accepts (multiples of 64 KiB), and above 512 KiB the padding is less
// than an eighth of the plaintext (a power of two cost up to all of it).
TEST(HubEnvelopeTest, PaddingClassesAreFewAndCostAtMostAnEighthAbove512KiB) {
  std::set<size_t> classes;
  for (size_t n = 0; n < kMax; n += (n < 70000 ? 1 : 4093)) {
    const size_t padded = PaddedPlaintextSize(n, kMax);
    ASSERT_GT(padded, n) << n;
    ASSERT_TRUE(IsSealedSizeClass(padded)) << n << " -> " << padded;
    if (padded > kSealedPadLargeStep) {
      ASSERT_EQ(padded % kSealedPadLargeStep, 0u) << n;
    }
    if (n >= 512 * 1024) {
      ASSERT_LE((padded - n) * 8, n) << n << " -> " << padded;
    }
    classes.insert(padded);
  }
  classes.insert(PaddedPlaintextSize(kMax - 1, kMax));
  EXPECT_EQ(classes.size(), 54u);
  EXPECT_EQ(*classes.rbegin(), kMax);
  // What older senders padded to is still accepted (no format change).
  for (size_t old_class : {size_t{262144}, size_t{524288}, size_t{1048576},
                           size_t{2097152}, size_t{655360}}) {
    EXPECT_TRUE(IsSealedSizeClass(old_class)) << old_class;
  }
}

// Seals `plaintext` as A to C with `header`, bypassing SealBatch, so a
// test can hand the recipient what a broken or old sender would send.
std::vector<uint8_t> RawSeal(const Trio& t, const SealedHeaderInfo& header,
                             std::span<const uint8_t> plaintext) {
  auto x = crypto::IdentityToX25519Public(t.c.key->public_key());
  return *crypto::Seal(EncodeSealedHeader(header), plaintext, {*x});
}

TEST(HubEnvelopeTest, EveryRefusalOfTheRecipientIsNamed) {
  Trio t;
  auto me = crypto::IdentityToX25519Key(*t.c.key);
  auto refusal = [&](const std::vector<uint8_t>& env) {
    auto r = OpenSealed(env, *me, t.c.key->public_key(), kMax);
    return r.ok() ? std::string("opened") : r.status().message();
  };
  // Old format (no formatVersion): a clear refusal naming the format.
  auto old = t.Header(1, 1);
  old.format_version = 0;
  EXPECT_NE(refusal(RawSeal(t, old, std::vector<uint8_t>(1024, 0)))
                .find("format 0"),
            std::string::npos);
  // Wrapped for a key id we do not hold (a later prekey).
  auto keyed = t.Header(1, 1);
  keyed.recipient_key_id = {1, 2, 3};
  EXPECT_NE(refusal(RawSeal(t, keyed, std::vector<uint8_t>(1024, 0)))
                .find("key id"),
            std::string::npos);
  // Not padded to a size class.
  EXPECT_NE(refusal(RawSeal(t, t.Header(1, 1), std::vector<uint8_t>(1000, 0)))
                .find("size class"),
            std::string::npos);
  // Padding without its 0x80 marker.
  EXPECT_NE(refusal(RawSeal(t, t.Header(1, 1), std::vector<uint8_t>(1024, 0)))
                .find("padding"),
            std::string::npos);
  // Too short for the signature and the inner length.
  std::vector<uint8_t> shorty(1024, 0);
  shorty[10] = 0x80;
  EXPECT_NE(refusal(RawSeal(t, t.Header(1, 1), shorty)).find("too short"),
            std::string::npos);
  // An inner length running past the signed part (signed by A, so only
  // the layout is wrong).
  const auto header = t.Header(1, 1);
  std::vector<uint8_t> signed_part = {0, 0, 0x10, 0};  // 4096 bytes
  auto sig = crypto::SignSealedBatch(*t.a.key, EncodeSealedHeader(header),
                                     signed_part);
  std::vector<uint8_t> plain(sig.begin(), sig.end());
  plain.insert(plain.end(), signed_part.begin(), signed_part.end());
  plain.push_back(0x80);
  plain.resize(1024, 0);
  EXPECT_NE(refusal(RawSeal(t, header, plain)).find("runs past"),
            std::string::npos);
}

}  // namespace
}  // namespace caravan::daemon::sync
