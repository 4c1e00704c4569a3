// Signed compromise notices (issue 16, daemon/sync/compromise_notice.h):
// a valid one round-trips and is accepted; every refusal names its reason.
#include <gtest/gtest.h>

#include <set>

#include "crypto/identity_rotation.h"
#include "daemon/sync/compromise_notice.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;

constexpr int64_t kNow = 1'800'000'000;

struct Federation {
  Member kz{"CERT-KZ", "KZ"};
  Member uz{"CERT-UZ", "UZ"};
  Member outsider{"CERT-XX", "CN"};
  RosterIndex roster{{kz.Roster(), uz.Roster()}};
};

std::string RefusalOf(const CompromiseNotice& n, const RosterIndex& roster,
                      int64_t now = kNow) {
  NoticeCheck c = CheckCompromiseNotice(n, roster, now);
  return c.refusal ? std::string(NoticeRefusalName(*c.refusal)) : "accepted";
}

TEST(CompromiseNoticeTest, AValidNoticeRoundTripsAndIsAccepted) {
  Federation f;
  auto n = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(), kNow - 3600,
                                kNow - 10);
  auto decoded = DecodeCompromiseNotice(EncodeCompromiseNotice(n));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, n);
  NoticeCheck c = CheckCompromiseNotice(*decoded, f.roster, kNow);
  EXPECT_FALSE(c.refusal.has_value()) << c.reason;
  ASSERT_NE(c.issuer, nullptr);
  EXPECT_EQ(c.issuer->name, "CERT-KZ");
  ASSERT_NE(c.compromised, nullptr);
  EXPECT_EQ(c.compromised->name, "CERT-UZ");
}

TEST(CompromiseNoticeTest, IssuerNotInTheRosterIsRefused) {
  Federation f;
  auto n = SignCompromiseNotice(*f.outsider.key, f.uz.key->public_key(),
                                kNow - 3600, kNow);
  EXPECT_EQ(RefusalOf(n, f.roster), "unknown_issuer");
}

TEST(CompromiseNoticeTest, WrongSignatureIsRefused) {
  Federation f;
  // Signed by UZ, claiming to be from KZ.
  auto forged = SignCompromiseNotice(*f.uz.key, f.uz.key->public_key(),
                                     kNow - 3600, kNow);
  forged.issuer = f.kz.key->public_key();
  EXPECT_EQ(RefusalOf(forged, f.roster), "bad_signature");
  // A valid notice with one field changed after signing.
  auto n = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(),
                                kNow - 3600, kNow);
  n.since -= 1;
  EXPECT_EQ(RefusalOf(n, f.roster), "bad_signature");
}

TEST(CompromiseNoticeTest, UnknownCompromisedKeyIsRefused) {
  Federation f;
  auto n = SignCompromiseNotice(*f.kz.key, f.outsider.key->public_key(),
                                kNow - 3600, kNow);
  EXPECT_EQ(RefusalOf(n, f.roster), "unknown_key");
}

// `caravan key compromised` at a member that rotated K0 -> K1: the notice
// is issued by K1 about K0. Taken because K1 is K0's successor in the chain
// the receiver holds; refused from anyone else, and for a key nobody
// rotated away from.
TEST(CompromiseNoticeTest, RetiredKeyNoticeIssuedByItsSuccessorIsAccepted) {
  Federation f;
  auto uz1 = crypto::IdentityKey::Generate();
  const auto rotation = crypto::SignRotation(*f.uz.key, *uz1, kNow - 600, kNow - 600);
  const RosterIndex roster({f.kz.Roster(), f.uz.Roster()}, KeyChains({rotation}));
  auto n = SignCompromiseNotice(*uz1, f.uz.key->public_key(), kNow - 3600, kNow);
  NoticeCheck c = CheckCompromiseNotice(n, roster, kNow);
  ASSERT_FALSE(c.refusal.has_value()) << c.reason;
  ASSERT_NE(c.compromised, nullptr);
  EXPECT_EQ(c.compromised->name, "CERT-UZ");
  EXPECT_EQ(c.issuer->name, "CERT-UZ");
  // Another member may not declare UZ's retired key for it this way.
  EXPECT_EQ(RefusalOf(SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(), kNow - 3600,
                                           kNow),
                      roster),
            "unknown_key");
  // Without the rotation held, the issuer is not even on the roster.
  EXPECT_EQ(RefusalOf(n, f.roster), "unknown_issuer");
}

// `caravan key compromised --key` for a key retired before the last one:
// UZ rotated K0 -> K1 -> K2 and declares K0. The notice is issued by K2,
// the newest key of K0's chain, and is taken; K0's records are held back
// only up to K0's own rotation (K0 -> K1). A notice signed by the retired
// K1 is refused (peers pin K2 only: a stored notice issued before a
// rotation is signed again by the current key when sent), and so is one
// about K0 from another member.
TEST(CompromiseNoticeTest, OlderRetiredKeyNoticeIssuedByTheNewestKeyOfItsChainIsAccepted) {
  Federation f;
  auto uz1 = crypto::IdentityKey::Generate();
  auto uz2 = crypto::IdentityKey::Generate();
  const auto first = crypto::SignRotation(*f.uz.key, *uz1, kNow - 900, kNow - 900);
  const auto second = crypto::SignRotation(*uz1, *uz2, kNow - 300, kNow - 300);
  const RosterIndex roster({f.kz.Roster(), f.uz.Roster()}, KeyChains({second, first}));
  const auto k0 = f.uz.key->public_key();
  for (const auto& compromised : {k0, uz1->public_key()}) {
    auto n = SignCompromiseNotice(*uz2, compromised, kNow - 3600, kNow);
    NoticeCheck c = CheckCompromiseNotice(n, roster, kNow);
    ASSERT_FALSE(c.refusal.has_value()) << c.reason;
    ASSERT_NE(c.compromised, nullptr);
    EXPECT_EQ(c.compromised->name, "CERT-UZ");
    EXPECT_EQ(c.issuer->name, "CERT-UZ");
  }
  // The bound the receiver applies to K0: its own rotation, not the last.
  ASSERT_NE(roster.chains().RetiredBy(k0), nullptr);
  EXPECT_EQ(roster.chains().RetiredBy(k0)->rotated_at, kNow - 900);
  EXPECT_EQ(RefusalOf(SignCompromiseNotice(*uz1, k0, kNow - 3600, kNow), roster),
            "unknown_issuer");
  EXPECT_EQ(RefusalOf(SignCompromiseNotice(*f.kz.key, k0, kNow - 3600, kNow), roster),
            "unknown_key");
  // A receiver that holds only the first rotation does not know K2 yet.
  const RosterIndex behind({f.kz.Roster(), f.uz.Roster()}, KeyChains({first}));
  EXPECT_EQ(RefusalOf(SignCompromiseNotice(*uz2, k0, kNow - 3600, kNow), behind),
            "unknown_issuer");
}

TEST(CompromiseNoticeTest, SinceOrIssueTimeInTheFutureIsRefused) {
  Federation f;
  auto n = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(),
                                kNow + 3600, kNow + 3600);
  EXPECT_EQ(RefusalOf(n, f.roster), "in_future");
  // Within the clock skew it is accepted.
  auto near = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(),
                                   kNow + 60, kNow + 60);
  EXPECT_EQ(RefusalOf(near, f.roster), "accepted");
}

TEST(CompromiseNoticeTest, DigestTellsReplaysFromNewNotices) {
  Federation f;
  auto n = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(),
                                kNow - 3600, kNow);
  auto again = DecodeCompromiseNotice(EncodeCompromiseNotice(n));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(NoticeDigest(n), NoticeDigest(*again));
  auto later = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(),
                                    kNow - 3600, kNow + 1);
  EXPECT_NE(NoticeDigest(n), NoticeDigest(later));
}

TEST(CompromiseNoticeTest, MalformedBytesAreRefusedWithAReason) {
  Federation f;
  auto n = SignCompromiseNotice(*f.kz.key, f.uz.key->public_key(),
                                kNow - 3600, kNow);
  std::vector<uint8_t> bytes = EncodeCompromiseNotice(n);
  // Truncated, not word-aligned, oversized, empty.
  EXPECT_FALSE(DecodeCompromiseNotice(
                   std::span<const uint8_t>(bytes.data(), bytes.size() - 8))
                   .ok());
  EXPECT_FALSE(DecodeCompromiseNotice(
                   std::span<const uint8_t>(bytes.data(), bytes.size() - 3))
                   .ok());
  EXPECT_FALSE(
      DecodeCompromiseNotice(std::vector<uint8_t>(kMaxCompromiseNoticeBytes + 8))
          .ok());
  EXPECT_FALSE(DecodeCompromiseNotice(std::vector<uint8_t>()).ok());
  // A since after the issue time, negative times.
  auto late = n;
  late.since = late.issued_at + 3600;
  auto r = DecodeCompromiseNotice(EncodeCompromiseNotice(late));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("after its issue time"),
            std::string::npos);
  auto negative = n;
  negative.since = -1;
  EXPECT_FALSE(DecodeCompromiseNotice(EncodeCompromiseNotice(negative)).ok());
}

}  // namespace
}  // namespace caravan::daemon::sync
