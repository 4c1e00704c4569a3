// Forward secrecy for hub mode: signed prekey statements, the recipient's
// prekey keyring and envelopes sealed to prekeys (docs/federation.md,
// "Prekeys").
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "crypto/identity_x25519.h"
#include "crypto/seal.h"
#include "daemon/sync/hub_envelope.h"
#include "daemon/sync/prekey_keyring.h"
#include "daemon/sync/prekey_statement.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;
using testing::SignedBy;
using testing::TempDir;

constexpr int64_t kNow = 1'800'000'000;
constexpr size_t kMax = 16 * 1024 * 1024;

struct Federation {
  Member a{"CERT-A", "KZ"};
  Member c{"CERT-C", "UZ"};
  RosterIndex roster{{a.Roster(), c.Roster()}};
};

crypto::X25519PublicKey SomePrekey() {
  return crypto::LinkKey::Generate()->public_key();
}

std::string Refusal(const PrekeyStatement& s, const RosterIndex& roster,
                    const PrekeyStatement* held = nullptr,
                    int64_t now = kNow) {
  auto r = CheckPrekeyStatement(s, roster, now, held);
  return r.ok() ? std::string("accepted") : r.status().message();
}

TEST(PrekeyStatementTest, AValidStatementRoundTripsAndIsAccepted) {
  Federation f;
  auto s = SignPrekeyStatement(*f.c.key, 3, SomePrekey(), kNow - 10,
                               kNow + 86400);
  auto decoded = DecodePrekeyStatement(EncodePrekeyStatement(s));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, s);
  auto verdict = CheckPrekeyStatement(*decoded, f.roster, kNow, nullptr);
  ASSERT_TRUE(verdict.ok()) << verdict.status().message();
  EXPECT_EQ(*verdict, PrekeyVerdict::kNewer);
  // The same statement again changes nothing; a newer id is taken.
  EXPECT_EQ(*CheckPrekeyStatement(s, f.roster, kNow, &s), PrekeyVerdict::kSame);
  auto next = SignPrekeyStatement(*f.c.key, 4, SomePrekey(), kNow, kNow + 10);
  EXPECT_EQ(*CheckPrekeyStatement(next, f.roster, kNow, &s),
            PrekeyVerdict::kNewer);
}

TEST(PrekeyStatementTest, WrongSignerIsRefused) {
  Federation f;
  // A (or a hub) signs a statement that claims to be C's.
  auto s = SignPrekeyStatement(*f.a.key, 1, SomePrekey(), kNow, kNow + 60);
  s.member_key = f.c.key->public_key();
  EXPECT_NE(Refusal(s, f.roster).find("not signed by its identity key"),
            std::string::npos);
  // Any changed field breaks C's own signature too.
  auto good = SignPrekeyStatement(*f.c.key, 1, SomePrekey(), kNow, kNow + 60);
  auto swapped = good;
  swapped.prekey_public = SomePrekey();
  EXPECT_NE(Refusal(swapped, f.roster).find("not signed"), std::string::npos);
  auto extended = good;
  extended.not_after += 86400;
  EXPECT_NE(Refusal(extended, f.roster).find("not signed"), std::string::npos);
}

TEST(PrekeyStatementTest, ExpiredIsRefused) {
  Federation f;
  auto s = SignPrekeyStatement(*f.c.key, 1, SomePrekey(), kNow - 100, kNow);
  EXPECT_NE(Refusal(s, f.roster).find("expired"), std::string::npos);
}

TEST(PrekeyStatementTest, NotBeforeInTheFutureIsRefused) {
  Federation f;
  auto s = SignPrekeyStatement(*f.c.key, 1, SomePrekey(),
                               kNow + kPrekeyClockSkewSeconds + 1,
                               kNow + 86400);
  EXPECT_NE(Refusal(s, f.roster).find("in our future"), std::string::npos);
  // Within the tolerated clock skew it is fine.
  auto skewed = SignPrekeyStatement(*f.c.key, 1, SomePrekey(), kNow + 30,
                                    kNow + 86400);
  EXPECT_EQ(Refusal(skewed, f.roster), "accepted");
}

TEST(PrekeyStatementTest, ReplayedOlderIdIsRefused) {
  Federation f;
  auto older = SignPrekeyStatement(*f.c.key, 4, SomePrekey(), kNow, kNow + 60);
  auto held = SignPrekeyStatement(*f.c.key, 5, SomePrekey(), kNow, kNow + 60);
  EXPECT_NE(Refusal(older, f.roster, &held).find("a replay"),
            std::string::npos);
  // The same id with another key (signed by C: a member reusing an id).
  auto reused = SignPrekeyStatement(*f.c.key, 5, SomePrekey(), kNow, kNow + 60);
  EXPECT_NE(Refusal(reused, f.roster, &held).find("differs"),
            std::string::npos);
}

TEST(PrekeyStatementTest, UnknownMemberIsRefused) {
  Federation f;
  Member stranger{"STRANGER", "FR"};
  auto s = SignPrekeyStatement(*stranger.key, 1, SomePrekey(), kNow, kNow + 60);
  EXPECT_NE(Refusal(s, f.roster).find("not in the roster"), std::string::npos);
}

TEST(PrekeyStatementTest, MalformedStructureIsRefusedByName) {
  Federation f;
  auto good = SignPrekeyStatement(*f.c.key, 1, SomePrekey(), kNow, kNow + 60);
  auto refusal = [](const PrekeyStatement& s) {
    auto r = DecodePrekeyStatement(EncodePrekeyStatement(s));
    return r.ok() ? std::string("decoded") : r.status().message();
  };
  auto zero_id = good;
  zero_id.prekey_id = 0;
  EXPECT_NE(refusal(zero_id).find("starts at 1"), std::string::npos);
  auto backwards = good;
  backwards.not_after = backwards.not_before;
  EXPECT_NE(refusal(backwards).find("is not before"), std::string::npos);
  auto forever = good;
  forever.not_after = forever.not_before + kMaxPrekeyValiditySeconds + 1;
  EXPECT_NE(refusal(forever).find("longer than"), std::string::npos);
  auto zeros = good;
  zeros.prekey_public = {};
  EXPECT_NE(refusal(zeros).find("all zeros"), std::string::npos);
  EXPECT_FALSE(DecodePrekeyStatement(std::vector<uint8_t>(7, 1)).ok());
  EXPECT_FALSE(DecodePrekeyStatement({}).ok());
  EXPECT_NE(DecodePrekeyStatement(std::vector<uint8_t>(4096, 0))
                .status()
                .message()
                .find("larger than"),
            std::string::npos);
}

TEST(PrekeyKeyIdTest, RoundTripsAndRefusesOtherForms) {
  uint64_t id = 0;
  EXPECT_TRUE(ParsePrekeyKeyId(PrekeyKeyId(77), id));
  EXPECT_EQ(id, 77u);
  EXPECT_FALSE(ParsePrekeyKeyId(PrekeyKeyId(0), id));
  EXPECT_FALSE(ParsePrekeyKeyId(std::vector<uint8_t>{1, 2, 3}, id));
}

TEST(PrekeyKeyringTest, RotatesKeepsAcrossRestartAndErasesAfterGrace) {
  Federation f;
  TempDir dir;
  const std::string path = dir.File("prekeys");
  PrekeyStatement first, second;
  {
    auto ring = PrekeyKeyring::Open(path, *f.c.key);
    ASSERT_TRUE(ring.ok()) << ring.status().message();
    EXPECT_FALSE((*ring)->Current(kNow).has_value());
    auto s1 = (*ring)->Rotate(kNow, std::chrono::seconds(100));
    ASSERT_TRUE(s1.ok()) << s1.status().message();
    first = *s1;
    auto s2 = (*ring)->Rotate(kNow + 50, std::chrono::seconds(100));
    ASSERT_TRUE(s2.ok());
    second = *s2;
    EXPECT_EQ(first.prekey_id + 1, second.prekey_id);
    EXPECT_EQ(*CheckPrekeyStatement(second, f.roster, kNow + 50, &first),
              PrekeyVerdict::kNewer);
    EXPECT_EQ((*ring)->Current(kNow + 60)->prekey_id, second.prekey_id);
  }
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A restart reads both back, and the statements are the same (Ed25519
  // signs deterministically).
  auto ring = PrekeyKeyring::Open(path, *f.c.key);
  ASSERT_TRUE(ring.ok()) << ring.status().message();
  EXPECT_EQ((*ring)->HeldIds(),
            (std::vector<uint64_t>{first.prekey_id, second.prekey_id}));
  EXPECT_EQ(*(*ring)->Current(kNow + 60), second);
  ASSERT_NE((*ring)->Find(first.prekey_id), nullptr);
  EXPECT_EQ((*ring)->Find(first.prekey_id)->public_key(), first.prekey_public);
  // Within the grace nothing goes; after it the first goes, then the
  // second.
  EXPECT_EQ(*(*ring)->EraseExpired(kNow + 100 + 9, std::chrono::seconds(10)),
            0u);
  EXPECT_EQ(*(*ring)->EraseExpired(kNow + 110, std::chrono::seconds(10)), 1u);
  EXPECT_EQ((*ring)->Find(first.prekey_id), nullptr);
  EXPECT_NE((*ring)->Find(second.prekey_id), nullptr);
  EXPECT_EQ(*(*ring)->EraseExpired(kNow + 160, std::chrono::seconds(10)), 1u);
  EXPECT_TRUE((*ring)->HeldIds().empty());
  // Ids keep growing after every key was erased, and across a restart.
  ring->reset();
  auto again = PrekeyKeyring::Open(path, *f.c.key);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->HeldIds().empty());
  EXPECT_EQ((*again)->Rotate(kNow + 200, std::chrono::seconds(100))->prekey_id,
            second.prekey_id + 1);
}

TEST(PrekeyKeyringTest, ErasedSecretBytesAreGoneFromTheFile) {
  Federation f;
  TempDir dir;
  const std::string path = dir.File("prekeys");
  auto ring = PrekeyKeyring::Open(path, *f.c.key);
  ASSERT_TRUE(ring.ok());
  auto s = (*ring)->Rotate(kNow, std::chrono::seconds(10));
  ASSERT_TRUE(s.ok());
  auto key = (*ring)->Find(s->prekey_id);
  ASSERT_NE(key, nullptr);
  const std::vector<uint8_t> secret(key->secret().begin(),
                                    key->secret().end());
  key.reset();
  auto file_bytes = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  };
  auto contains = [](const std::vector<uint8_t>& hay,
                     const std::vector<uint8_t>& needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) !=
           hay.end();
  };
  EXPECT_TRUE(contains(file_bytes(), secret));
  ASSERT_EQ(*(*ring)->EraseExpired(kNow + 20, std::chrono::seconds(1)), 1u);
  const auto after = file_bytes();
  EXPECT_FALSE(contains(after, secret));
  EXPECT_EQ(after.size(), 64u + kPrekeySlots * 128u);  // rewritten in place
}

TEST(PrekeyKeyringTest, RefusesAFileOpenToOthersOrOfTheWrongSize) {
  Federation f;
  TempDir dir;
  const std::string path = dir.File("prekeys");
  ASSERT_TRUE(PrekeyKeyring::Open(path, *f.c.key).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto open = PrekeyKeyring::Open(path, *f.c.key);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("0644"), std::string::npos);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  { std::ofstream(path, std::ios::app) << "x"; }
  open = PrekeyKeyring::Open(path, *f.c.key);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("bytes, not"), std::string::npos);
}

struct Sealing {
  Federation f;
  TempDir dir;
  std::unique_ptr<PrekeyKeyring> ring;
  PrekeyStatement statement;

  Sealing() {
    auto opened = PrekeyKeyring::Open(dir.File("prekeys"), *f.c.key);
    if (!opened.ok()) std::abort();
    ring = std::move(*opened);
    statement = *ring->Rotate(kNow, std::chrono::seconds(100));
  }
  Result<std::vector<uint8_t>> Seal(const PrekeyStatement& to) const {
    SealedHeaderInfo h;
    h.envelope_id = NewEnvelopeId();
    h.sender_name = f.a.name;
    h.sender_key = f.a.key->public_key();
    h.recipient_key = f.c.key->public_key();
    h.first_seq = 1;
    h.up_to_seq = 1;
    h.recipient_key_id = PrekeyKeyId(to.prekey_id);
    return SealBatch(h, ChainLink{1, {}}, {{1, SignedBy(f.a, "fs.example")}},
                     *f.a.key, kMax, &to.prekey_public);
  }
};

TEST(PrekeySealTest, RecipientOpensWithThePrekeyTheHubSeesOnlyItsId) {
  Sealing s;
  auto env = s.Seal(s.statement);
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto as_hub = InspectSealed(*env, kMax);
  ASSERT_TRUE(as_hub.ok()) << as_hub.status().message();
  EXPECT_EQ(as_hub->recipient_key_id, PrekeyKeyId(s.statement.prekey_id));
  auto me = crypto::IdentityToX25519Key(*s.f.c.key);
  auto opened = OpenSealed(*env, *me, s.f.c.key->public_key(), kMax,
                           s.ring.get());
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ASSERT_EQ(opened->entries.size(), 1u);
}

TEST(PrekeySealTest, ThePrekeyCostsOneHeaderWordPerEnvelope) {
  Sealing s;
  SealedHeaderInfo h;
  h.envelope_id = NewEnvelopeId();
  h.sender_name = s.f.a.name;
  h.sender_key = s.f.a.key->public_key();
  h.recipient_key = s.f.c.key->public_key();
  h.first_seq = h.up_to_seq = 1;
  const std::vector<std::pair<uint64_t, protocol::SignedRecord>> one = {
      {1, SignedBy(s.f.a, "size.example")}};
  auto to_identity = SealBatch(h, ChainLink{1, {}}, one, *s.f.a.key, kMax);
  h.recipient_key_id = PrekeyKeyId(s.statement.prekey_id);
  auto to_prekey = SealBatch(h, ChainLink{1, {}}, one, *s.f.a.key, kMax,
                             &s.statement.prekey_public);
  ASSERT_TRUE(to_identity.ok() && to_prekey.ok());
  // The plaintext (and its size class) is the same; the readable header
  // grows by the 8-byte key id.
  EXPECT_EQ(to_prekey->size() - to_identity->size(), 8u);
  // A statement on the wire (once per member per rotation per link).
  EXPECT_LE(EncodePrekeyStatement(s.statement).size(), 200u);
  std::cout << "[prekey] envelope " << to_identity->size() << " B to the "
            << "identity key, " << to_prekey->size() << " B to a prekey; "
            << "statement " << EncodePrekeyStatement(s.statement).size()
            << " B\n";
}

TEST(PrekeySealTest, CapturedEnvelopeStaysClosedWithTheIdentityKeyAlone) {
  Sealing s;
  auto env = s.Seal(s.statement);
  ASSERT_TRUE(env.ok());
  const std::vector<uint8_t> captured = *env;  // what a hub kept
  // The prekey's grace ends: its secret is erased.
  ASSERT_EQ(*s.ring->EraseExpired(kNow + 1000, std::chrono::seconds(1)), 1u);
  // The identity key leaks: its X25519 form does not open the capture,
  // neither through the node's own path nor with the raw envelope format.
  auto leaked = crypto::IdentityToX25519Key(*s.f.c.key);
  EXPECT_FALSE(crypto::Open(captured, *leaked).has_value());
  auto opened = OpenSealed(captured, *leaked, s.f.c.key->public_key(), kMax,
                           s.ring.get());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find(kPrekeyUnknownReason),
            std::string::npos);
  // Without a keyring at all it is refused the same way.
  EXPECT_FALSE(
      OpenSealed(captured, *leaked, s.f.c.key->public_key(), kMax).ok());
}

TEST(PrekeySealTest, HeaderAndKeyMustAgree) {
  Sealing s;
  SealedHeaderInfo h;
  h.envelope_id = NewEnvelopeId();
  h.sender_name = s.f.a.name;
  h.sender_key = s.f.a.key->public_key();
  h.recipient_key = s.f.c.key->public_key();
  h.first_seq = h.up_to_seq = 1;
  const std::vector<std::pair<uint64_t, protocol::SignedRecord>> one = {
      {1, SignedBy(s.f.a, "x.example")}};
  // A prekey without its id in the header, and an id without the key.
  EXPECT_FALSE(SealBatch(h, ChainLink{1, {}}, one, *s.f.a.key, kMax,
                         &s.statement.prekey_public)
                   .ok());
  h.recipient_key_id = PrekeyKeyId(s.statement.prekey_id);
  EXPECT_FALSE(SealBatch(h, ChainLink{1, {}}, one, *s.f.a.key, kMax).ok());
  // An envelope naming prekey 1 but wrapped for another key is refused
  // by name.
  auto other = s.ring->Rotate(kNow, std::chrono::seconds(100));
  ASSERT_TRUE(other.ok());
  auto env = SealBatch(h, ChainLink{1, {}}, one, *s.f.a.key, kMax,
                       &other->prekey_public);
  ASSERT_TRUE(env.ok());
  auto me = crypto::IdentityToX25519Key(*s.f.c.key);
  auto opened =
      OpenSealed(*env, *me, s.f.c.key->public_key(), kMax, s.ring.get());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("wrapped for another key"),
            std::string::npos);
}

}  // namespace
}  // namespace caravan::daemon::sync
