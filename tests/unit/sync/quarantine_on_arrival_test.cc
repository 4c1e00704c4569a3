// Quarantine on arrival (issue 16, daemon/sync/origin_trust.h): a record
// signed by a key known compromised for its creation time that reaches us
// later, relayed by a third member, is stored quarantined with the
// compromised_key rule, not stored as normal. Records created before the
// compromise, or (for a key rotated away from) at or after its rotation,
// and records of a key only flagged, are stored as the policy says.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/identity_rotation.h"
#include "daemon/policy/policy_loader.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/origin_trust.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;
using testing::TempDir;

constexpr int64_t kT = 1'700'000'000;  // the compromise's since

protocol::RecordBody BodyOf(const protocol::PublicKey& origin, const std::string& value,
                            int64_t created, uint64_t seq) {
  protocol::RecordBody body;
  body.origin = origin;
  body.origin_seq = seq;
  body.revision = 1;
  body.created = created;
  body.indicator.type = protocol::IndicatorType::kDomain;
  body.indicator.value = value;
  body.indicator.tlp = protocol::Tlp::kGreen;
  body.indicator.confidence = 80;
  body.indicator.reshare = protocol::Reshare::kFederation;
  return body;
}

store::MemberTrust Compromised(const protocol::PublicKey& key, int64_t since,
                               store::CompromiseAction action) {
  store::MemberTrust trust;
  store::CompromisedKey c;
  c.key = key;
  c.since = since;
  c.name = "CERT-UZ";
  c.action = action;
  trust.compromised[key] = c;
  return trust;
}

TEST(QuarantineOnArrival, CoversExactlyFromSinceOnForAQuarantineCompromise) {
  Member uz{"CERT-UZ", "UZ"};
  const auto key = uz.key->public_key();
  const auto trust = Compromised(key, kT, store::CompromiseAction::kQuarantine);
  EXPECT_FALSE(QuarantineOnArrival(trust, nullptr, BodyOf(key, "a.example", kT - 1, 1)));
  auto at = QuarantineOnArrival(trust, nullptr, BodyOf(key, "b.example", kT, 2));
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->key, policy::kRuleCompromisedKey);
  EXPECT_TRUE(QuarantineOnArrival(trust, nullptr, BodyOf(key, "c.example", kT + 999, 3)));
  // Another origin, and a key only flagged: not quarantined on arrival.
  Member kz{"CERT-KZ", "KZ"};
  EXPECT_FALSE(QuarantineOnArrival(trust, nullptr,
                                   BodyOf(kz.key->public_key(), "d.example", kT + 5, 1)));
  const auto flagged = Compromised(key, kT, store::CompromiseAction::kFlag);
  EXPECT_FALSE(QuarantineOnArrival(flagged, nullptr, BodyOf(key, "e.example", kT + 5, 4)));
  // A departed origin's records are kept as they come (never relayed on).
  store::MemberTrust departed;
  departed.departed[key] = store::DepartedMember{key, "CERT-UZ", kT};
  EXPECT_FALSE(QuarantineOnArrival(departed, nullptr, BodyOf(key, "f.example", kT + 5, 5)));
}

// UZ rotated K0 -> K1 at kT + 100 and K0 is compromised since kT: K0's
// records created in [kT, kT + 100) are covered; a revision created after
// the rotation is K1's and is not.
TEST(QuarantineOnArrival, ARetiredKeyIsCoveredOnlyUntilItsRotation) {
  Member uz{"CERT-UZ", "UZ"};
  auto k1 = crypto::IdentityKey::Generate();
  const KeyChains chains({crypto::SignRotation(*uz.key, *k1, kT + 100, kT + 100)});
  const auto k0 = uz.key->public_key();
  const auto trust = Compromised(k0, kT, store::CompromiseAction::kQuarantine);
  EXPECT_TRUE(QuarantineOnArrival(trust, &chains, BodyOf(k0, "a.example", kT + 99, 1)));
  EXPECT_FALSE(QuarantineOnArrival(trust, &chains, BodyOf(k0, "a.example", kT + 100, 1)));
}

// Through StoreInbound, as the sync engine stores a Records message: KZ
// relays two of UZ's records, one created before the compromise UZ's key
// was declared for and one after. The later is stored quarantined with the
// rule in the audit; the earlier is stored as the policy accepts it.
TEST(QuarantineOnArrival, ARelayedRecordOfACompromisedKeyIsStoredQuarantined) {
  Member uz{"CERT-UZ", "UZ"};
  Member kz{"CERT-KZ", "KZ"};
  Member self{"CERT-CN", "CN"};
  TempDir dir;
  auto opened = store::Store::Open(dir.File("node.db"));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<store::Store> store = std::move(*opened);
  store::CompromisedKey c;
  c.key = uz.key->public_key();
  c.since = kT;
  c.declared_at = kT + 50;
  c.declared_by = kz.key->public_key();
  c.name = "CERT-UZ";
  ASSERT_TRUE(store->Write([&](store::WriteTxn& txn) { return txn.PutCompromised(c); })
                  .get()
                  .ok());
  auto policy = policy::LoadPolicyText({{"default.toml", "[inbound]\naccept = true\n"}});
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  auto roster = std::make_shared<const RosterIndex>(
      std::vector<protocol::RosterMember>{uz.Roster(), kz.Roster()});
  BatchRootCache cache;
  InboundContext ctx{store.get(), roster.get(), &*policy, self.key->public_key(), &cache,
                     kT + 100};
  std::vector<InboundEntry> entries;
  uint64_t seq = 0;
  for (const auto& [value, created] :
       std::vector<std::pair<std::string, int64_t>>{{"before.example", kT - 10},
                                                    {"after.example", kT + 10}}) {
    const auto bytes = protocol::EncodeRecordBody(
        BodyOf(uz.key->public_key(), value, created, seq + 1));
    auto sig = crypto::Sign(*uz.key, crypto::SignDomain::kRecord, bytes);
    entries.push_back({++seq, protocol::SignedRecord{bytes, sig}});
  }
  CheckedMessage checked = CheckInbound(ctx, roster, entries, seq);
  ASSERT_EQ(checked.checked.size(), 2u);
  ASSERT_TRUE(checked.rejected.empty()) << checked.rejected[0].reason;
  const PeerInfo from{kz.name, kz.country, kz.key->public_key()};
  std::vector<CheckedMessage> batch{checked};  // StoreInbound consumes it
  auto outcome = StoreInbound(ctx, from, batch);
  ASSERT_TRUE(outcome.ok()) << outcome.status().message();
  EXPECT_EQ(outcome->accepted, 1u);
  EXPECT_EQ(outcome->quarantined, 1u);

  auto reader = store->OpenReader();
  ASSERT_TRUE(reader.ok());
  for (const auto& r : checked.checked) {
    auto row = (*reader)->Get(r.id);
    ASSERT_TRUE(row.ok() && row->has_value()) << r.body.indicator.value;
    EXPECT_EQ((*row)->quarantined, r.body.indicator.value == "after.example")
        << r.body.indicator.value;
  }
  auto audit = (*reader)->ReadAudit({});
  ASSERT_TRUE(audit.ok());
  bool named = false;
  for (const auto& e : audit->entries) {
    if (e.event.action == "quarantine" &&
        e.event.detail.find(policy::kRuleCompromisedKey) != std::string::npos) {
      named = true;
    }
  }
  EXPECT_TRUE(named) << "no quarantine entry names the compromised_key rule";
}

}  // namespace
}  // namespace caravan::daemon::sync
