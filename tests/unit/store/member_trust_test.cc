// Member trust tables (issue 16, daemon/store/member_trust.cc): departed
// members, compromised keys (only ever widened), quarantine by origin and
// time, purge by origin (exact counts, nothing of other origins), and
// compromise notice replay detection.
#include <gtest/gtest.h>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {
namespace {

using protocol::IndicatorType;

MemberTrust TrustOf(Store& store) {
  auto reader = ReaderOrDie(store);
  auto t = reader->GetMemberTrust();
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : MemberTrust{};
}

// Two records of origin 1 (created 1'600'000'001 and ...002 via revision),
// one of origin 2.
void Seed(Store& store) {
  ASSERT_TRUE(Insert(store, MakeRow(IndicatorType::kDomain, "a.example", 1, 1)).ok());
  ASSERT_TRUE(Insert(store, MakeRow(IndicatorType::kDomain, "b.example", 1, 1)).ok());
  ASSERT_TRUE(Insert(store, MakeRow(IndicatorType::kDomain, "b.example", 2, 1)).ok());
  ASSERT_TRUE(Insert(store, MakeRow(IndicatorType::kDomain, "c.example", 1, 2, "KZ")).ok());
}

TEST(MemberTrust, DepartedIsRecordedAndForgotten) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(store->Write([](WriteTxn& txn) {
    return txn.PutDeparted({KeyOf(1), "CERT-UZ", 100});
  }).get().ok());
  auto t = TrustOf(*store);
  EXPECT_TRUE(t.IsDeparted(KeyOf(1)));
  EXPECT_FALSE(t.IsDeparted(KeyOf(2)));
  EXPECT_EQ(t.departed.at(KeyOf(1)).name, "CERT-UZ");
  ASSERT_TRUE(store->Write([](WriteTxn& txn) {
    return txn.ForgetDeparted(KeyOf(1));
  }).get().ok());
  EXPECT_FALSE(TrustOf(*store).IsDeparted(KeyOf(1)));
}

TEST(MemberTrust, CompromiseOnlyWidens) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  auto put = [&](int64_t since, CompromiseAction action) {
    CompromisedKey c;
    c.key = KeyOf(1);
    c.since = since;
    c.declared_at = 10;
    c.declared_by = KeyOf(9);
    c.name = "CERT-UZ";
    c.action = action;
    return store->Write([c](WriteTxn& txn) { return txn.PutCompromised(c); })
        .get();
  };
  ASSERT_TRUE(put(500, CompromiseAction::kQuarantine).ok());
  ASSERT_TRUE(put(900, CompromiseAction::kFlag).ok());  // later, weaker
  auto t = TrustOf(*store);
  EXPECT_EQ(t.compromised.at(KeyOf(1)).since, 500);
  EXPECT_EQ(t.compromised.at(KeyOf(1)).action, CompromiseAction::kQuarantine);
  EXPECT_EQ(t.CompromiseOf(KeyOf(1), 499), nullptr);
  EXPECT_NE(t.CompromiseOf(KeyOf(1), 500), nullptr);
  ASSERT_TRUE(put(100, CompromiseAction::kFlag).ok());  // earlier
  EXPECT_EQ(TrustOf(*store).compromised.at(KeyOf(1)).since, 100);
}

TEST(MemberTrust, QuarantineOriginTakesOnlyThatKeySinceTheTime) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_NO_FATAL_FAILURE(Seed(*store));
  auto ids = store->WriteValue<std::vector<IndicatorId>>([](WriteTxn& txn) {
    return txn.QuarantineOrigin(KeyOf(1), 1'600'000'002);
  }).get();
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ((*ids)[0], IdOf(KeyOf(1), IndicatorType::kDomain, "b.example"));
  // Idempotent: nothing more the second time.
  auto again = store->WriteValue<std::vector<IndicatorId>>([](WriteTxn& txn) {
    return txn.QuarantineOrigin(KeyOf(1), 0);
  }).get();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u);  // a.example, the one not yet quarantined
}

// A retired key declared compromised: only what it signed before its
// rotation (`until`); b.example's later revision is its successor's.
TEST(MemberTrust, QuarantineOriginStopsAtUntil) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_NO_FATAL_FAILURE(Seed(*store));
  auto ids = store->WriteValue<std::vector<IndicatorId>>([](WriteTxn& txn) {
    return txn.QuarantineOrigin(KeyOf(1), 0, 1'600'000'002);
  }).get();
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ((*ids)[0], IdOf(KeyOf(1), IndicatorType::kDomain, "a.example"));
}

TEST(MemberTrust, PurgeDeletesExactlyThatOrigin) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_NO_FATAL_FAILURE(Seed(*store));
  const IndicatorId a = IdOf(KeyOf(1), IndicatorType::kDomain, "a.example");
  const IndicatorId c = IdOf(KeyOf(2), IndicatorType::kDomain, "c.example");
  ASSERT_TRUE(store->Write([&](WriteTxn& txn) {
    CARAVAN_RETURN_IF_ERROR(txn.AddSighting({a, 5, "seen", "op"}));
    return txn.AddSighting({c, 5, "seen", "op"});
  }).get().ok());
  auto counted = store->WriteValue<PurgeCounts>([](WriteTxn& txn) {
    return txn.PurgeOrigin(KeyOf(1), /*count_only=*/true);
  }).get();
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->indicators, 2u);
  EXPECT_EQ(counted->records, 3u);
  EXPECT_EQ(counted->sightings, 1u);
  auto purged = store->WriteValue<PurgeCounts>([](WriteTxn& txn) {
    return txn.PurgeOrigin(KeyOf(1));
  }).get();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged->indicators, 2u);
  EXPECT_EQ(purged->records, 3u);
  EXPECT_EQ(purged->sightings, 1u);
  auto reader = ReaderOrDie(*store);
  auto gone = reader->Get(a);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto kept = reader->Get(c);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->has_value());
  auto sightings = reader->Sightings(c);
  ASSERT_TRUE(sightings.ok());
  EXPECT_EQ(sightings->size(), 1u);
}

TEST(MemberTrust, ANoticeIsNewOnceThenAReplay) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  std::array<uint8_t, 32> digest{};
  digest.fill(7);
  auto record = [&] {
    return store->WriteValue<bool>([&](WriteTxn& txn) {
      return txn.RecordCompromiseNotice(digest, KeyOf(9), KeyOf(1), 5, 6);
    }).get();
  };
  auto first = record();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto second = record();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
}

}  // namespace
}  // namespace caravan::store::testing
