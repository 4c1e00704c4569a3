// Migration 18 (daemon/store/batch_leaves_migration.cc): a complete
// batch's leaf hashes move from one blob on its `batches` row into rows of
// 16 (`batch_leaves`), on stores in the layout of versions 15 and 16 (`top`
// after `leaves`) and 17 (`leaves` last), as this code's predecessors wrote
// them. Every record comes back byte for byte, a half-held batch still
// completes, damaged leaf hashes hurt only the records they hurt before, a
// failure halfway leaves the store as it was, and kill -9 at any moment of
// the migration loses nothing.

#include <sqlite3.h>

#include "crypto/identity_key.h"
#include "crypto/merkle.h"
#include "daemon/store/schema.h"
#include "tests/unit/store/kill_during_open.h"
#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using testing::Count;
using testing::ExpectBytesBack;
using testing::ExpectLeafHashesInChunks;
using testing::InsertAll;
using testing::OpenOrDie;
using testing::SignedRows;
using testing::TempDir;

// Versions up to 17 kept the tree levels from 6 up (chunks of 64 leaves).
constexpr size_t kOldChunkLevels = 6;

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "") << " in " << sql;
  sqlite3_free(err);
}

// Rewrites the batches of a store written by this code in the layout of
// `version` (15, 16 or 17), as that version wrote them: each complete batch's
// leaf hashes as one blob, `top` the levels from kOldChunkLevels up, no
// batch_leaves table, schema_version back at `version`.
void WriteOldBatchLayout(const std::string& path, int version) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  Exec(db, std::string("PRAGMA foreign_keys = OFF; BEGIN;") +
               testing::kRollBackToSchema19 +
               "CREATE TABLE batches_old (bid INTEGER PRIMARY KEY,"
               " root_signature BLOB NOT NULL UNIQUE,"
               " tree_size INTEGER NOT NULL,"
               " held INTEGER NOT NULL DEFAULT 0, salt_seed BLOB, " +
               (version < 17 ? "leaves BLOB, top BLOB)"
                             : "top BLOB, leaves BLOB)"));
  sqlite3_stmt* batches = nullptr;
  sqlite3_stmt* chunks = nullptr;
  sqlite3_stmt* add = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT bid, root_signature, tree_size, held, "
                               "salt_seed, complete FROM batches ORDER BY bid",
                               -1, &batches, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT hashes FROM batch_leaves WHERE bid = ? "
                               "ORDER BY chunk",
                               -1, &chunks, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO batches_old (bid, root_signature, "
                               "tree_size, held, salt_seed, leaves, top) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               -1, &add, nullptr),
            SQLITE_OK);
  while (sqlite3_step(batches) == SQLITE_ROW) {
    for (int c = 0; c < 5; ++c) {
      sqlite3_bind_value(add, c + 1, sqlite3_column_value(batches, c));
    }
    std::vector<uint8_t> leaves;
    std::vector<uint8_t> top;
    const bool complete = sqlite3_column_int(batches, 5) == 1;
    if (complete) {
      sqlite3_bind_int64(chunks, 1, sqlite3_column_int64(batches, 0));
      while (sqlite3_step(chunks) == SQLITE_ROW) {
        const auto* p =
            static_cast<const uint8_t*>(sqlite3_column_blob(chunks, 0));
        leaves.insert(leaves.end(), p, p + sqlite3_column_bytes(chunks, 0));
      }
      sqlite3_reset(chunks);
      std::vector<crypto::MerkleHash> hashes(leaves.size() / 32);
      for (size_t i = 0; i < hashes.size(); ++i) {
        std::copy_n(leaves.begin() + 32 * i, 32, hashes[i].begin());
      }
      const crypto::MerkleLevels levels = crypto::MerkleTreeLevels(hashes);
      for (size_t k = kOldChunkLevels; k < levels.size(); ++k) {
        for (const auto& h : levels[k])
          top.insert(top.end(), h.begin(), h.end());
      }
      // A zero-length blob, not NULL, for a batch of 32 leaves or fewer.
      static const uint8_t kNone = 0;
      sqlite3_bind_blob(add, 6, leaves.data(), static_cast<int>(leaves.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_blob(add, 7, top.empty() ? &kNone : top.data(),
                        static_cast<int>(top.size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(add, 6);
      sqlite3_bind_null(add, 7);
    }
    EXPECT_EQ(sqlite3_step(add), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_reset(add);
  }
  sqlite3_finalize(batches);
  sqlite3_finalize(chunks);
  sqlite3_finalize(add);
  if (version < 16) Exec(db, "DROP TABLE pending_notices;");  // migration 16
  Exec(db,
       "DROP TABLE batches; DROP TABLE batch_leaves;"
       "ALTER TABLE batches_old RENAME TO batches;"
       "DELETE FROM schema_version WHERE version > " +
           std::to_string(version) + "; COMMIT;");
  sqlite3_close(db);
}

// Flips byte `offset` of batch `bid`'s leaf blob (an old-layout store).
void FlipLeafByte(const std::string& path, int64_t bid, int offset) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_blob* blob = nullptr;
  ASSERT_EQ(sqlite3_blob_open(db, "main", "batches", "leaves", bid, 1, &blob),
            SQLITE_OK);
  uint8_t byte = 0;
  ASSERT_EQ(sqlite3_blob_read(blob, &byte, 1, offset), SQLITE_OK);
  byte ^= 0xff;
  ASSERT_EQ(sqlite3_blob_write(blob, &byte, 1, offset), SQLITE_OK);
  sqlite3_blob_close(blob);
  sqlite3_close(db);
}

class OldBatchLayout : public ::testing::TestWithParam<int> {};

TEST_P(OldBatchLayout, GetsItsLeafHashesInChunksAndEveryRecordBack) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  // 137 leaves: across the old chunk edge (64) and the new one (16).
  auto whole = SignedRows(*key, "whole", 137, 1);
  auto part = SignedRows(*key, "part", 10, 138);
  auto lone = SignedRows(*key, "lone", 1, 148);
  auto small = SignedRows(*key, "small", 5, 149);  // no `top` at all
  // Signed and stored as the submitter does: salts from a seed the batch
  // row keeps (not per record).
  crypto::MerkleSaltSeed seed{};
  seed.fill(0x5e);
  auto seeded = SignedRows(*key, "seeded", 70, 154, seed);
  std::vector<RecordRow> rows = whole;
  rows.insert(rows.end(), part.begin(), part.begin() + 3);
  rows.push_back(lone[0]);
  rows.insert(rows.end(), small.begin(), small.end());
  rows.insert(rows.end(), seeded.begin(), seeded.end());
  { InsertAll(*OpenOrDie(path), rows); }
  ASSERT_EQ(Count(path,
                  "SELECT count(*) FROM records WHERE batch IS NOT NULL "
                  "AND salt IS NULL"),
            70);
  WriteOldBatchLayout(path, GetParam());
  ASSERT_EQ(Count(path,
                  "SELECT count(*) FROM pragma_table_info('batches') "
                  "WHERE name = 'leaves'"),
            1);
  ASSERT_EQ(
      Count(path, "SELECT count(*) FROM batches WHERE leaves IS NOT NULL"), 3);

  auto store = OpenOrDie(path);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"),
            internal::kSchemaVersion);
  ExpectLeafHashesInChunks(path);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches"), 4);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 1"), 3);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM batches WHERE salt_seed IS NOT "
                  "NULL AND complete = 1"),
            1);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batch_leaves"), 9 + 1 + 5);
  EXPECT_EQ(Count(path, "SELECT held FROM batches WHERE complete = 0"), 3);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM pragma_integrity_check "
                  "WHERE integrity_check != 'ok'"),
            0);
  ExpectBytesBack(*store, rows);
  // The half-held batch still completes when its other leaves come.
  std::vector<RecordRow> rest(part.begin() + 3, part.end());
  InsertAll(*store, rest);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 0"), 0);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 0);
  ExpectLeafHashesInChunks(path);
  rows.insert(rows.end(), rest.begin(), rest.end());
  ExpectBytesBack(*store, rows);
}

INSTANTIATE_TEST_SUITE_P(Versions, OldBatchLayout,
                         ::testing::Values(15, 16, 17));

// Damage from before the migration stays what it was: a leaf blob cut short
// and a leaf hash that rotted do not stop the store from opening, the
// batch is not made complete, and each record reads as the old layout read
// it: one whose 64-leaf chunk is intact gives its bytes back, one whose
// chunk the blob no longer holds fails, one in the rotted chunk comes back
// with a wrong proof (a reader's signature check then refuses it), as
// before.
TEST(BatchLeavesMigration, DamageToTheLeafHashesStaysWithTheRecordsItHit) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  auto good = SignedRows(*key, "good", 40, 1);
  auto cut = SignedRows(*key, "cut", 100, 41);
  auto rot = SignedRows(*key, "rot", 100, 141);
  std::vector<RecordRow> rows = good;
  rows.insert(rows.end(), cut.begin(), cut.end());
  rows.insert(rows.end(), rot.begin(), rot.end());
  { InsertAll(*OpenOrDie(path), rows); }
  WriteOldBatchLayout(path, 17);
  const int64_t cut_bid =
      Count(path, "SELECT bid FROM batches ORDER BY bid LIMIT 1 OFFSET 1");
  const int64_t rot_bid = Count(path, "SELECT max(bid) FROM batches");
  // 70 leaves of 100 left in one; a byte of leaf 70 flipped in the other.
  testing::RawExec(path,
                   "UPDATE batches SET leaves = substr(leaves, 1, 2240) "
                   "WHERE bid = " +
                       std::to_string(cut_bid));
  FlipLeafByte(path, rot_bid, 2240);
  ASSERT_EQ(Count(path, "SELECT length(leaves) FROM batches WHERE bid = " +
                            std::to_string(rot_bid)),
            3200);
  auto store = OpenOrDie(path);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"),
            internal::kSchemaVersion);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 1"), 1);
  ExpectLeafHashesInChunks(path);
  auto reader = testing::ReaderOrDie(*store);
  auto read = [&reader](const RecordRow& r) {
    return reader->GetRecordBytes(r.id, 1, 0);
  };
  for (const RecordRow& r : good) EXPECT_EQ(*read(r), r.signed_bytes);
  for (size_t i = 0; i < 100; ++i) {
    auto cut_bytes = read(cut[i]);
    auto rot_bytes = read(rot[i]);
    if (i < 64) {
      ASSERT_TRUE(cut_bytes.ok()) << i << ": " << cut_bytes.status().ToString();
      EXPECT_EQ(*cut_bytes, cut[i].signed_bytes) << i;
      ASSERT_TRUE(rot_bytes.ok()) << i;
      EXPECT_EQ(*rot_bytes, rot[i].signed_bytes) << i;
    } else {
      EXPECT_EQ(cut_bytes.status().code(), StatusCode::kCorrupt) << i;
      ASSERT_TRUE(rot_bytes.ok()) << i;
      // Leaf 70's own path holds no hash of leaf 70; every other path of
      // its chunk holds a node above it, now wrong.
      if (i == 70) {
        EXPECT_EQ(*rot_bytes, rot[i].signed_bytes);
      } else {
        EXPECT_NE(*rot_bytes, rot[i].signed_bytes) << i;  // a wrong proof
      }
    }
  }
}

// A migration that fails partway (here the last batch row breaks a CHECK of
// the new table, after the earlier batches were copied and their leaf rows
// written) leaves the store exactly at 17: nothing half-done is kept.
TEST(BatchLeavesMigration, AFailureHalfwayLeavesTheStoreAtItsVersion) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  std::vector<RecordRow> rows;
  for (uint64_t b = 0; b < 3; ++b) {
    auto batch =
        SignedRows(*key, "b" + std::to_string(b) + "-", 50, 1 + 50 * b);
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  { InsertAll(*OpenOrDie(path), rows); }
  WriteOldBatchLayout(path, 17);
  testing::RawExec(path,
                   "UPDATE batches SET root_signature = zeroblob(63) "
                   "WHERE bid = (SELECT max(bid) FROM batches)");
  auto opened = Store::Open(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("migration 18"), std::string::npos)
      << opened.status().message();
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 17);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM batches WHERE "
                  "length(leaves) = 32 * tree_size"),
            3);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_master WHERE name IN "
                  "('batch_leaves', 'batches_v17')"),
            0);
}

// kill -9 at random moments of opening a version-17 store: it is then at
// 17 with its batches as they were, or converted (18 and on), never between;
// the next open finishes the job.
TEST(BatchLeavesMigration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const std::string original = dir.File("v17.db");
  auto key = crypto::IdentityKey::Generate();
  std::vector<RecordRow> rows;
  // Under ExpectBytesBack's one read of the whole log (kMaxQueryLimit).
  for (uint64_t b = 0; b < 9; ++b) {
    auto batch =
        SignedRows(*key, "b" + std::to_string(b) + "-", 1000, 1 + 1000 * b);
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  { InsertAll(*OpenOrDie(original), rows); }
  WriteOldBatchLayout(original, 17);
  const int killed_at_17 = testing::KillDuringOpen(
      dir, original, 6, 20261206, 17, [&rows](const std::string& path) {
        if (Count(path, "SELECT max(version) FROM schema_version") == 17) {
          EXPECT_EQ(Count(path,
                          "SELECT count(*) FROM batches WHERE "
                          "length(leaves) = 32 * tree_size"),
                    9);
        }
        auto store = OpenOrDie(path);
        ExpectLeafHashesInChunks(path);
        ExpectBytesBack(*store, rows);
      });
  RecordProperty("killed_before_commit", killed_at_17);
}

}  // namespace
}  // namespace caravan::store
