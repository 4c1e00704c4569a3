// The hub's prekey book read back from the store (hub_prekey_book.h):
// every stored statement is checked again before a restarted hub serves
// it, and a row that fails is refused by name (and, through the store,
// deleted and audited), never served.
#include "daemon/sync/hub_prekey_book.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

#include "crypto/link_key.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;
using testing::TempDir;

constexpr int64_t kNow = 1'800'000'000;

struct Federation {
  Member a{"CERT-A", "KZ"};
  Member c{"CERT-C", "UZ"};
  Member gone{"CERT-GONE", "TJ"};  // signs, but is not in the roster
  RosterIndex roster{{a.Roster(), c.Roster()}};
};

PrekeyStatement Signed(const Member& m, uint64_t id, int64_t not_after) {
  return SignPrekeyStatement(*m.key, id,
                             crypto::LinkKey::Generate()->public_key(),
                             kNow - 60, not_after);
}

std::string RefusalOf(const LoadedPrekeyBook& loaded, uint64_t id) {
  for (const auto& r : loaded.refused) {
    if (r.prekey_id == id) return r.why;
  }
  return "";
}

TEST(HubPrekeyBookLoad, ServesTheNewestValidStatementPerOwner) {
  Federation f;
  const auto c7 = Signed(f.c, 7, kNow + 3600);
  const auto c9 = Signed(f.c, 9, kNow + 7200);
  const auto a2 = Signed(f.a, 2, kNow + 60);
  const auto loaded = LoadPrekeyBook(
      {PrekeyBookRow(c9), PrekeyBookRow(c7), PrekeyBookRow(a2)}, f.roster,
      kNow);
  EXPECT_TRUE(loaded.refused.empty());
  ASSERT_EQ(loaded.book.size(), 2u);
  EXPECT_EQ(loaded.book.at(f.c.key->public_key()), c9);
  EXPECT_EQ(loaded.book.at(f.a.key->public_key()), a2);
}

TEST(HubPrekeyBookLoad, ATamperedNewestRowFallsBackToTheOneBefore) {
  Federation f;
  const auto c7 = Signed(f.c, 7, kNow + 3600);
  auto c9 = PrekeyBookRow(Signed(f.c, 9, kNow + 7200));
  // One bit of the prekey public key flipped on disk: still decodes,
  // no longer C's signature.
  const auto good = EncodePrekeyStatement(Signed(f.c, 9, kNow + 7200));
  ASSERT_EQ(c9.statement.size(), good.size());
  bool flipped = false;
  auto decoded = DecodePrekeyStatement(c9.statement);
  ASSERT_TRUE(decoded.ok());
  for (size_t i = 0; i < c9.statement.size() && !flipped; ++i) {
    auto copy = c9.statement;
    copy[i] ^= 0x01;
    auto d = DecodePrekeyStatement(copy);
    if (d.ok() && d->prekey_public != decoded->prekey_public &&
        d->member_key == decoded->member_key &&
        d->prekey_id == decoded->prekey_id &&
        d->not_after == decoded->not_after) {
      c9.statement = copy;
      flipped = true;
    }
  }
  ASSERT_TRUE(flipped);
  const auto loaded =
      LoadPrekeyBook({c9, PrekeyBookRow(c7)}, f.roster, kNow);
  ASSERT_EQ(loaded.refused.size(), 1u);
  EXPECT_NE(RefusalOf(loaded, 9).find("not signed by its identity key"),
            std::string::npos)
      << RefusalOf(loaded, 9);
  EXPECT_EQ(loaded.refused[0].owner, f.c.key->public_key());
  ASSERT_EQ(loaded.book.size(), 1u);
  EXPECT_EQ(loaded.book.at(f.c.key->public_key()), c7);
}

TEST(HubPrekeyBookLoad, EveryOtherFaultIsRefusedByNameNeverServed) {
  Federation f;
  // Garbage bytes.
  auto garbage = PrekeyBookRow(Signed(f.c, 1, kNow + 60));
  garbage.statement.assign(24, 0xff);
  // A valid statement of C stored under A's key (a row swapped on disk).
  auto swapped = PrekeyBookRow(Signed(f.c, 2, kNow + 60));
  swapped.owner_key = f.a.key->public_key();
  // The row's expiry column moved later than the statement says (so
  // pruning would keep it past its end).
  auto stretched = PrekeyBookRow(Signed(f.c, 3, kNow + 60));
  stretched.not_after += 86400;
  // Expired, and of a member no longer in the roster.
  auto expired = PrekeyBookRow(Signed(f.a, 4, kNow));
  auto departed = PrekeyBookRow(Signed(f.gone, 5, kNow + 60));
  const auto loaded = LoadPrekeyBook(
      {garbage, swapped, stretched, expired, departed}, f.roster, kNow);
  EXPECT_TRUE(loaded.book.empty());
  ASSERT_EQ(loaded.refused.size(), 5u);
  EXPECT_NE(RefusalOf(loaded, 1).find("prekey statement"), std::string::npos)
      << RefusalOf(loaded, 1);
  EXPECT_NE(RefusalOf(loaded, 2).find("does not match"), std::string::npos);
  EXPECT_NE(RefusalOf(loaded, 3).find("does not match"), std::string::npos);
  EXPECT_NE(RefusalOf(loaded, 4).find("expired"), std::string::npos);
  EXPECT_NE(RefusalOf(loaded, 5).find("not in the roster"), std::string::npos);
}

TEST(HubPrekeyBookRestore, KeptStatementsComeBackRefusedRowsAreDeletedAndAudited) {
  Federation f;
  TempDir dir;
  const std::string path = dir.File("hub.db");
  const int64_t now = std::time(nullptr);
  const auto c = SignPrekeyStatement(*f.c.key, 3,
                                     crypto::LinkKey::Generate()->public_key(),
                                     now - 60, now + 3600);
  const auto gone = SignPrekeyStatement(
      *f.gone.key, 1, crypto::LinkKey::Generate()->public_key(), now - 60,
      now + 3600);
  {
    auto store = store::testing::OpenOrDie(path);
    ASSERT_TRUE(KeepHubPrekey(*store, c).ok());
    ASSERT_TRUE(KeepHubPrekey(*store, gone).ok());
    // Kept twice: nothing changes.
    ASSERT_TRUE(KeepHubPrekey(*store, c).ok());
  }
  store::testing::RawExec(
      path, "PRAGMA ignore_check_constraints = 1;"
            "INSERT INTO hub_prekey_book VALUES (zeroblob(31), 1, " +
                std::to_string(now + 100) + ", x'01', 0);");
  auto store = store::testing::OpenOrDie(path);
  auto restored = RestoreHubPrekeyBook(*store, f.roster, now);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  ASSERT_EQ(restored->size(), 1u);
  EXPECT_EQ(restored->at(f.c.key->public_key()), c);
  // The departed member's row and the malformed one are gone from disk.
  auto reader = store::testing::ReaderOrDie(*store);
  auto rows = reader->HubPrekeyBook();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->malformed, 0u);
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0].owner_key, f.c.key->public_key());
  store::AuditFilter filter;
  filter.action = "hub_prekey_refused";
  auto audited = reader->ReadAudit(filter);
  ASSERT_TRUE(audited.ok()) << audited.status().ToString();
  ASSERT_EQ(audited->entries.size(), 2u);
  std::string all;
  for (const auto& e : audited->entries) all += e.event.detail + "\n";
  EXPECT_NE(all.find("malformed_rows"), std::string::npos) << all;
  EXPECT_NE(all.find("not in the roster"), std::string::npos) << all;
}

}  // namespace
}  // namespace caravan::daemon::sync
