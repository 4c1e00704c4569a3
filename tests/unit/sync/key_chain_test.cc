// Identity key rotation at a receiver (daemon/sync/key_chain.h,
// origin_signer.h): which statements are taken and why the others are
// refused (one test per refusal), chains K0 -> K1 -> K2, and which key a
// record must be signed by: ids stay those of the key an indicator was
// created under, revisions are signed by the key valid at `created`, and a
// retired key signing after its rotation is refused as retired_key.

#include "daemon/sync/key_chain.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/identity_rotation.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/origin_signer.h"
#include "daemon/sync/record_signing.h"
#include "protocol/record_codec.h"

namespace caravan::daemon::sync {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kT = kNow - 3600;  // the rotation, an hour ago

struct Federation {
  std::unique_ptr<crypto::IdentityKey> uz0 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> uz1 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> uz2 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> kz = crypto::IdentityKey::Generate();
  std::vector<protocol::RosterMember> roster{
      {"CERT-UZ", "UZ", uz0->public_key(), std::nullopt},
      {"CERT-KZ", "KZ", kz->public_key(), std::nullopt}};
  crypto::RotationStatement first = crypto::SignRotation(*uz0, *uz1, kT, kT);
};

std::string Code(const RotationCheck& c) { return c.verdict ? "" : c.refusal.code; }

TEST(KeyChainCheck, AcceptsARotationOfARosterMemberSignedByBothKeys) {
  Federation f;
  const RotationCheck c = KeyChains().Check(f.first, f.roster, kNow);
  ASSERT_TRUE(c.verdict) << c.refusal.message;
  EXPECT_EQ(*c.verdict, RotationVerdict::kAccept);
  EXPECT_EQ(c.member, "CERT-UZ");
}

TEST(KeyChainCheck, ReplayedStatementChangesNothing) {
  Federation f;
  const KeyChains held({f.first});
  const auto roster = held.Apply(f.roster);
  EXPECT_EQ(roster[0].key, f.uz1->public_key());  // the roster now pins K1
  const RotationCheck c = held.Check(f.first, roster, kNow);
  ASSERT_TRUE(c.verdict);
  EXPECT_EQ(*c.verdict, RotationVerdict::kReplayed);
}

TEST(KeyChainCheck, RefusesWrongSigner) {
  Federation f;
  auto thief = crypto::IdentityKey::Generate();
  // A thief without K0 signs with its own key and claims K0 as the old key.
  crypto::RotationStatement forged = crypto::SignRotation(*thief, *f.uz1, kT, kT);
  forged.old_key = f.uz0->public_key();
  const RotationCheck c = KeyChains().Check(forged, f.roster, kNow);
  EXPECT_EQ(Code(c), "wrong_signer");
  EXPECT_EQ(c.refusal.message, "rotation statement is not signed by the old key");
}

TEST(KeyChainCheck, RefusesFutureDatedStatement) {
  Federation f;
  const auto future = crypto::SignRotation(*f.uz0, *f.uz1, kNow + 3600, kNow + 3600);
  const RotationCheck c = KeyChains().Check(future, f.roster, kNow);
  EXPECT_EQ(Code(c), "future");
  // Within the clock skew it is taken.
  const auto skewed = crypto::SignRotation(*f.uz0, *f.uz1, kNow + 60, kNow + 60);
  EXPECT_TRUE(KeyChains().Check(skewed, f.roster, kNow).verdict);
}

TEST(KeyChainCheck, RefusesRotationOfAnUnknownMember) {
  Federation f;
  auto stranger = crypto::IdentityKey::Generate();
  const auto s = crypto::SignRotation(*stranger, *f.uz1, kT, kT);
  const RotationCheck c = KeyChains().Check(s, f.roster, kNow);
  EXPECT_EQ(Code(c), "unknown_member");
  EXPECT_NE(c.refusal.message.find("not the key of any roster member"), std::string::npos);
}

TEST(KeyChainCheck, RefusesASecondDifferentRotationOfARetiredKey) {
  Federation f;
  const KeyChains held({f.first});
  // Whoever still holds K0 (a thief) rotates it again, to its own key.
  auto thief = crypto::IdentityKey::Generate();
  const auto fork = crypto::SignRotation(*f.uz0, *thief, kT + 10, kT + 10);
  const RotationCheck c = held.Check(fork, held.Apply(f.roster), kNow);
  EXPECT_EQ(Code(c), "conflict");
}

TEST(KeyChainCheck, RefusesAnOlderRotationThanTheChainsLast) {
  Federation f;
  const KeyChains held({f.first});
  // K1 -> K2 dated before K0 -> K1 took effect.
  const auto older = crypto::SignRotation(*f.uz1, *f.uz2, kT - 100, kT - 100);
  const RotationCheck c = held.Check(older, held.Apply(f.roster), kNow);
  EXPECT_EQ(Code(c), "older");
}

TEST(KeyChainCheck, RefusesANewKeyThatIsAnotherMembers) {
  Federation f;
  const auto takeover = crypto::SignRotation(*f.uz0, *f.kz, kT, kT);
  EXPECT_EQ(Code(KeyChains().Check(takeover, f.roster, kNow)), "key_in_use");
}

TEST(KeyChainCheck, RefusesReturningToARetiredKey) {
  Federation f;
  const KeyChains held({f.first});
  const auto back = crypto::SignRotation(*f.uz1, *f.uz0, kT + 10, kT + 10);
  EXPECT_EQ(Code(held.Check(back, held.Apply(f.roster), kNow)), "key_in_use");
}

TEST(KeyChainCheck, ChainOfTwoRotations) {
  Federation f;
  const auto second = crypto::SignRotation(*f.uz1, *f.uz2, kT + 600, kT + 600);
  // Out of order (K1 -> K2 before K0 -> K1 is known): K1 is nobody's yet.
  EXPECT_EQ(Code(KeyChains().Check(second, f.roster, kNow)), "unknown_member");
  const KeyChains one({f.first});
  const RotationCheck c = one.Check(second, one.Apply(f.roster), kNow);
  ASSERT_TRUE(c.verdict) << c.refusal.message;
  EXPECT_EQ(c.member, "CERT-UZ");
  const KeyChains both({second, f.first});
  EXPECT_EQ(both.CurrentKey(f.uz0->public_key()), f.uz2->public_key());
  EXPECT_EQ(both.SignerAt(f.uz0->public_key(), kT - 1), f.uz0->public_key());
  EXPECT_EQ(both.SignerAt(f.uz0->public_key(), kT), f.uz1->public_key());
  EXPECT_EQ(both.SignerAt(f.uz0->public_key(), kT + 600), f.uz2->public_key());
  EXPECT_EQ(both.SignerAt(f.uz1->public_key(), kT + 700), f.uz2->public_key());
  const auto all = both.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], f.first);  // oldest rotation first, as relayed
}

TEST(RosterIndexWithChains, FindsRetiredOriginsButLinksOnlyByCurrentKey) {
  Federation f;
  const RosterIndex index(f.roster, KeyChains({f.first}));
  ASSERT_NE(index.Find(f.uz1->public_key()), nullptr);
  EXPECT_EQ(index.Find(f.uz0->public_key()), nullptr);  // no handshake by K0
  const auto* origin = index.FindOrigin(f.uz0->public_key());
  ASSERT_NE(origin, nullptr);
  EXPECT_EQ(origin->name, "CERT-UZ");
  EXPECT_EQ(origin->key, f.uz1->public_key());
}

// A record of `origin` created at `created`, signed by `signer`.
protocol::SignedRecord Record(const crypto::IdentityKey& origin, const crypto::IdentityKey& signer,
                              int64_t created, protocol::RecordBody* body_out) {
  protocol::RecordBody body;
  body.origin = origin.public_key();
  body.origin_seq = 7;
  body.created = created;
  body.indicator.type = protocol::IndicatorType::kIpv4;
  body.indicator.value = "192.0.2.7";
  *body_out = body;
  return SignBodies(signer, {protocol::EncodeRecordBody(body)}).records[0];
}

TEST(OriginSigner, OldRecordsSignedByTheOldKeyStillVerify) {
  Federation f;
  const KeyChains chains({f.first});
  protocol::RecordBody body;
  const auto rec = Record(*f.uz0, *f.uz0, kT - 1, &body);
  EXPECT_EQ(CheckRecordSigner(chains, rec, body), SignerVerdict::kGood);
}

TEST(OriginSigner, RevisionOfAnOldIndicatorIsSignedByTheNewKeyAndKeepsItsId) {
  Federation f;
  const KeyChains chains({f.first});
  protocol::RecordBody body;
  const auto rec = Record(*f.uz0, *f.uz1, kT, &body);
  EXPECT_EQ(CheckRecordSigner(chains, rec, body), SignerVerdict::kGood);
  // The id is still the one derived from K0.
  EXPECT_EQ(protocol::ComputeIndicatorId(body.origin, body.indicator.type, body.indicator.value),
            protocol::ComputeIndicatorId(f.uz0->public_key(), body.indicator.type,
                                         body.indicator.value));
}

TEST(OriginSigner, RetiredKeySigningAfterTheRotationIsRefusedAsRetiredKey) {
  Federation f;
  const KeyChains chains({f.first});
  protocol::RecordBody body;
  const auto rec = Record(*f.uz0, *f.uz0, kT + 5, &body);
  EXPECT_EQ(CheckRecordSigner(chains, rec, body), SignerVerdict::kRetiredKey);
  // Without the rotation known, the same record is fine (a peer that has
  // not learnt it yet); with it, a batch by K0 is refused the same way.
  EXPECT_EQ(CheckRecordSigner(KeyChains(), rec, body), SignerVerdict::kGood);
  EXPECT_EQ(CheckBatchSigner(chains, f.uz0->public_key(), body), SignerVerdict::kRetiredKey);
  EXPECT_EQ(CheckBatchSigner(chains, f.uz1->public_key(), body), SignerVerdict::kGood);
}

// After a rotation the member re-signs variants and withdrawals of its old
// records (created before the rotation) with its current key: a later key
// of the chain may sign them; any other key may not.
TEST(OriginSigner, NewKeyMaySignARecordCreatedBeforeTheRotation) {
  Federation f;
  const KeyChains chains({f.first, crypto::SignRotation(*f.uz1, *f.uz2, kT + 60, kT + 60)});
  protocol::RecordBody body;
  const auto rec = Record(*f.uz0, *f.uz1, kT - 5, &body);
  EXPECT_EQ(CheckRecordSigner(chains, rec, body), SignerVerdict::kGood);
  EXPECT_EQ(CheckRecordSigner(chains, Record(*f.uz0, *f.uz2, kT - 5, &body), body),
            SignerVerdict::kGood);
  EXPECT_EQ(CheckBatchSigner(chains, f.uz2->public_key(), body), SignerVerdict::kGood);
  // Not without the rotation known, and never by another member's key.
  EXPECT_EQ(CheckRecordSigner(KeyChains(), rec, body), SignerVerdict::kBadSignature);
  EXPECT_EQ(CheckRecordSigner(chains, Record(*f.uz0, *f.kz, kT - 5, &body), body),
            SignerVerdict::kBadSignature);
  EXPECT_EQ(CheckBatchSigner(chains, f.kz->public_key(), body), SignerVerdict::kBadSignature);
  // A later key signing for an earlier one, not the other way round.
  EXPECT_EQ(CheckRecordSigner(chains, Record(*f.uz1, *f.uz0, kT + 5, &body), body),
            SignerVerdict::kBadSignature);
}

TEST(OriginSigner, NewIndicatorsUnderTheNewKeyVerifyDirectly) {
  Federation f;
  const KeyChains chains({f.first});
  protocol::RecordBody body;
  const auto rec = Record(*f.uz1, *f.uz1, kT + 5, &body);
  EXPECT_EQ(CheckRecordSigner(chains, rec, body), SignerVerdict::kGood);
}

}  // namespace
}  // namespace caravan::daemon::sync
