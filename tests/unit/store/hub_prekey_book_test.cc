// Table hub_prekey_book (the hub's prekey book across restarts,
// docs/federation.md "Prekeys"): statements survive reopening, each owner
// keeps only its newest kHubPrekeysPerOwner, sizes and ids are bounded,
// expired rows are pruned, a row tampered past the CHECKs is never
// returned (and is pruned), and migration 14 applies to a version-13 store.
#include <gtest/gtest.h>

#include <climits>

#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {
namespace {

constexpr int64_t kNow = 1'800'000'000;

HubPrekeyRow Row(uint8_t owner, uint64_t id, int64_t not_after,
                 size_t bytes = 200) {
  HubPrekeyRow row;
  row.owner_key = KeyOf(owner);
  row.prekey_id = id;
  row.not_after = not_after;
  row.statement.assign(bytes, static_cast<uint8_t>(id));
  return row;
}

Result<bool> Put(Store& store, const HubPrekeyRow& row) {
  return store
      .WriteValue<bool>([row](WriteTxn& txn) { return txn.HubPrekeyPut(row); })
      .get();
}

Result<uint64_t> Prune(Store& store, int64_t now) {
  return store
      .WriteValue<uint64_t>(
          [now](WriteTxn& txn) { return txn.HubPrekeyPrune(now); })
      .get();
}

HubPrekeyBookRows Book(Store& store) {
  auto reader = ReaderOrDie(store);
  auto book = reader->HubPrekeyBook();
  EXPECT_TRUE(book.ok()) << book.status().ToString();
  return book.ok() ? *book : HubPrekeyBookRows{};
}

std::vector<uint64_t> Ids(const HubPrekeyBookRows& book, uint8_t owner) {
  std::vector<uint64_t> out;
  for (const auto& r : book.rows) {
    if (r.owner_key == KeyOf(owner)) out.push_back(r.prekey_id);
  }
  return out;
}

TEST(HubPrekeyBook, EmptyStoreHasNone) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  const HubPrekeyBookRows book = Book(*store);
  EXPECT_TRUE(book.rows.empty());
  EXPECT_EQ(book.malformed, 0u);
}

TEST(HubPrekeyBook, StatementsSurviveReopenNewestFirstBytesIntact) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(*Put(*store, Row(0xc0, 7, kNow + 100)));
    ASSERT_TRUE(*Put(*store, Row(0xc0, 9, kNow + 300)));
    ASSERT_TRUE(*Put(*store, Row(0xa0, 2, kNow + 50, 1024)));
  }
  auto store = OpenOrDie(path);
  const HubPrekeyBookRows book = Book(*store);
  ASSERT_EQ(book.rows.size(), 3u);
  EXPECT_EQ(Ids(book, 0xc0), (std::vector<uint64_t>{9, 7}));
  EXPECT_EQ(Ids(book, 0xa0), (std::vector<uint64_t>{2}));
  for (const auto& r : book.rows) {
    const HubPrekeyRow want =
        Row(r.owner_key[0], r.prekey_id, r.not_after, r.statement.size());
    EXPECT_EQ(r.statement, want.statement);
    EXPECT_EQ(r.not_after, want.not_after);
    EXPECT_GT(r.stored_at, 0);
  }
}

TEST(HubPrekeyBook, ASecondStatementWithTheSameIdChangesNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row(0xc1, 4, kNow + 100)));
  HubPrekeyRow other = Row(0xc1, 4, kNow + 999, 300);
  auto again = Put(*store, other);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
  const HubPrekeyBookRows book = Book(*store);
  ASSERT_EQ(book.rows.size(), 1u);
  EXPECT_EQ(book.rows[0].not_after, kNow + 100);
  EXPECT_EQ(book.rows[0].statement.size(), 200u);
}

TEST(HubPrekeyBook, EachOwnerKeepsOnlyItsNewestStatements) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  for (uint64_t id = 1; id <= kHubPrekeysPerOwner + 3; ++id) {
    ASSERT_TRUE(*Put(*store, Row(0xc2, id, kNow + 100)));
  }
  ASSERT_TRUE(*Put(*store, Row(0xa2, 1, kNow + 100)));
  // A late, older statement is not kept in place of a newer one.
  auto late = Put(*store, Row(0xc2, 2, kNow + 100));
  ASSERT_TRUE(late.ok());
  const HubPrekeyBookRows book = Book(*store);
  std::vector<uint64_t> want;
  for (uint64_t id = kHubPrekeysPerOwner + 3; id > 3; --id) want.push_back(id);
  EXPECT_EQ(Ids(book, 0xc2), want);
  EXPECT_EQ(Ids(book, 0xa2), (std::vector<uint64_t>{1}));
}

TEST(HubPrekeyBook, SizesAndIdsOutOfBoundsAreRefusedByName) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  auto empty = Put(*store, Row(0xc3, 1, kNow + 1, 0));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(empty.status().message().find("0 bytes"), std::string::npos)
      << empty.status().message();
  auto huge = Put(*store, Row(0xc3, 1, kNow + 1, kMaxHubPrekeyStatementBytes + 1));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("1025 bytes"), std::string::npos)
      << huge.status().message();
  auto zero = Put(*store, Row(0xc3, 0, kNow + 1));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("prekey id 0"), std::string::npos);
  auto big = Put(*store, Row(0xc3, static_cast<uint64_t>(INT64_MAX) + 1, kNow + 1));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(Book(*store).rows.empty());
}

TEST(HubPrekeyBook, AFullBookRefusesANewOwnerAndKeepsWhatItHolds) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  { auto store = OpenOrDie(path); }
  // Filled to the bound behind the store's back (16384 distinct rows).
  RawExec(path,
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
          "WHERE i < " + std::to_string(kMaxHubPrekeyRows) + ") "
          "INSERT INTO hub_prekey_book SELECT "
          "randomblob(32), 1, " + std::to_string(kNow + 100) +
          ", x'00', 0 FROM n;");
  auto store = OpenOrDie(path);
  auto full = Put(*store, Row(0xc4, 1, kNow + 100));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(full.status().message().find("full"), std::string::npos)
      << full.status().message();
  const HubPrekeyBookRows book = Book(*store);
  EXPECT_EQ(book.rows.size(), kMaxHubPrekeyRows);
  EXPECT_TRUE(Ids(book, 0xc4).empty());
}

TEST(HubPrekeyBook, PruneDeletesExactlyTheExpired) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row(0xc5, 1, kNow - 1)));
  ASSERT_TRUE(*Put(*store, Row(0xc5, 2, kNow)));      // expires at kNow
  ASSERT_TRUE(*Put(*store, Row(0xc5, 3, kNow + 1)));
  ASSERT_TRUE(*Put(*store, Row(0xa5, 1, kNow + 60)));
  auto pruned = Prune(*store, kNow);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 2u);
  const HubPrekeyBookRows book = Book(*store);
  EXPECT_EQ(Ids(book, 0xc5), (std::vector<uint64_t>{3}));
  EXPECT_EQ(Ids(book, 0xa5), (std::vector<uint64_t>{1}));
  EXPECT_EQ(*Prune(*store, kNow), 0u);
}

TEST(HubPrekeyBook, ACorruptRowIsRefusedNotServedAndPruned) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(*Put(*store, Row(0xc6, 5, kNow + 100)));
  }
  // Tampered behind the store's back with the CHECKs off: a key of the
  // wrong length, an id of 0, a text statement, an empty one, one over
  // the bound, an id stored as text.
  RawExec(path,
          "PRAGMA ignore_check_constraints = 1;"
          "INSERT INTO hub_prekey_book VALUES (zeroblob(31), 1, " +
              std::to_string(kNow + 100) +
              ", x'01', 0);"
              "INSERT INTO hub_prekey_book VALUES (zeroblob(32), 0, " +
              std::to_string(kNow + 100) +
              ", x'01', 0);"
              "INSERT INTO hub_prekey_book VALUES (x'" +
              std::string(64, 'd') + "', 1, " + std::to_string(kNow + 100) +
              ", 'text', 0);"
              "INSERT INTO hub_prekey_book VALUES (x'" +
              std::string(64, 'e') + "', 1, " + std::to_string(kNow + 100) +
              ", x'', 0);"
              "INSERT INTO hub_prekey_book VALUES (x'" +
              std::string(64, 'f') + "', 1, " + std::to_string(kNow + 100) +
              ", zeroblob(1025), 0);"
              "INSERT INTO hub_prekey_book VALUES (x'" +
              std::string(62, 'b') + "0a', 'x', " +
              std::to_string(kNow + 100) + ", x'01', 0);");
  auto store = OpenOrDie(path);
  HubPrekeyBookRows book = Book(*store);
  EXPECT_EQ(book.malformed, 6u);
  ASSERT_EQ(book.rows.size(), 1u);
  EXPECT_EQ(book.rows[0].owner_key, KeyOf(0xc6));
  // Pruning deletes the malformed rows (none has expired).
  auto pruned = Prune(*store, kNow);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 6u);
  book = Book(*store);
  EXPECT_EQ(book.malformed, 0u);
  EXPECT_EQ(book.rows.size(), 1u);
}

TEST(HubPrekeyBook, DeleteRemovesOneStatement) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row(0xc7, 1, kNow + 100)));
  ASSERT_TRUE(*Put(*store, Row(0xc7, 2, kNow + 100)));
  ASSERT_TRUE(store
                  ->Write([](WriteTxn& txn) {
                    return txn.HubPrekeyDelete(KeyOf(0xc7), 2);
                  })
                  .get()
                  .ok());
  EXPECT_EQ(Ids(Book(*store), 0xc7), (std::vector<uint64_t>{1}));
}

// Migration 14 on a store of version 13 (its undo is the last step of
// kRollBackToSchema6, which the older migrations' tests run as well).
TEST(HubPrekeyBook, Migration14AppliesToAVersion13Store) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(*Put(*store, Row(0xc8, 1, kNow + 100)));
  }
  RawExec(path, kRollBackToSchema14);
  RawExec(path,
          "DROP TABLE hub_prekey_book;"
          "DELETE FROM schema_version WHERE version = 14;");
  auto store = OpenOrDie(path);
  EXPECT_TRUE(Book(*store).rows.empty());
  ASSERT_TRUE(*Put(*store, Row(0xc8, 1, kNow + 100)));
  EXPECT_EQ(Ids(Book(*store), 0xc8), (std::vector<uint64_t>{1}));
}

TEST(HubPrekeyBook, RollbackToSchema6ThenReopenRecreatesTheBook) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  { auto store = OpenOrDie(path); }
  RawExec(path, kRollBackToSchema6);
  auto store = OpenOrDie(path);
  EXPECT_TRUE(Book(*store).rows.empty());
  ASSERT_TRUE(*Put(*store, Row(0xc9, 3, kNow + 100)));
  EXPECT_EQ(Ids(Book(*store), 0xc9), (std::vector<uint64_t>{3}));
}

}  // namespace
}  // namespace caravan::store::testing
