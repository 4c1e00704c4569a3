// The records' disk form (daemon/store/record_forms.h): whatever form a
// record is kept in, the store gives back exactly the bytes it was given;
// a batch held whole keeps its leaf hashes once and no path per record;
// migration 15 converts a version-14 store in place and survives kill -9
// at any moment.

#include <sqlite3.h>

#include "crypto/identity_key.h"
#include "crypto/merkle.h"
#include "crypto/signing.h"
#include "daemon/store/schema.h"
#include "protocol/record_codec.h"
#include "tests/unit/store/kill_during_open.h"
#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::Count;
using testing::ExpectBytesBack;
using testing::ExpectLeafHashesInChunks;
using testing::InsertAll;
using testing::LeafHashesOf;
using testing::OpenOrDie;
using testing::RawExec;
using testing::ReaderOrDie;
using testing::Row;
using testing::SignedRows;
using testing::TempDir;

TEST(RecordForms, AWholeBatchKeepsItsLeafHashesOnceAndGivesEveryRecordBack) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  auto rows = SignedRows(*key, "whole", 37, 1);
  auto store = OpenOrDie(path);
  InsertAll(*store, rows);
  ExpectBytesBack(*store, rows);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 0);
  // In rows of 16 leaf hashes: 16, 16 and 5.
  EXPECT_EQ(Count(path, "SELECT sum(length(hashes)) FROM batch_leaves"),
            37 * 32);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batch_leaves"), 3);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM records WHERE raw IS NOT NULL"),
            0);
  // The body is stored packed: smaller than the canonical bytes.
  EXPECT_LT(Count(path, "SELECT max(length(body)) FROM records"),
            static_cast<int64_t>(
                protocol::DecodeSignedRecord(rows[0].signed_bytes)->body.size()));
}

// A record read by its log entry (what a query does per row) is the same
// bytes as by its id; an entry that is another record, another revision or
// no entry at all is NotFound, never another record's bytes.
TEST(RecordForms, ARecordReadByItsLogEntryIsThatRecordOnly) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  auto rows = SignedRows(*key, "at", 20, 1);
  auto store = OpenOrDie(path);
  InsertAll(*store, rows);
  auto reader = ReaderOrDie(*store);
  auto log = reader->LogRange(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), rows.size());
  for (const StoredRecord& entry : *log) {
    auto bytes = reader->GetRecordBytesAt(entry.seq, entry.id, 1, 0);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(*bytes, entry.signed_bytes);
  }
  const StoredRecord& a = (*log)[3];
  const StoredRecord& b = (*log)[4];
  EXPECT_EQ(reader->GetRecordBytesAt(b.seq, a.id, 1, 0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(reader->GetRecordBytesAt(a.seq, a.id, 2, 0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(reader->GetRecordBytesAt(a.seq, a.id, 1, 1).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(reader->GetRecordBytesAt(999, a.id, 1, 0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      reader->GetRecordBytesAt(uint64_t{1} << 63, a.id, 1, 0).status().code(),
      StatusCode::kNotFound);
}

TEST(RecordForms, ASubsetKeepsItsPathsUntilTheBatchIsWhole) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  auto rows = SignedRows(*key, "part", 10, 1);
  auto store = OpenOrDie(path);
  std::vector<RecordRow> first = {rows[7], rows[2], rows[9]};
  InsertAll(*store, first);
  ExpectBytesBack(*store, first);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 3);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 0"), 1);
  // The same record again is a duplicate: nothing more held.
  InsertAll(*store, {rows[7]});
  EXPECT_EQ(Count(path, "SELECT held FROM batches"), 3);
  // The rest, over two more writes: the batch completes, the paths go.
  InsertAll(*store, {rows[0], rows[1], rows[3]});
  InsertAll(*store, {rows[4], rows[5], rows[6], rows[8]});
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 0);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 0"), 0);
  std::vector<RecordRow> in_log_order = first;
  for (size_t i : {0, 1, 3, 4, 5, 6, 8}) in_log_order.push_back(rows[i]);
  ExpectBytesBack(*store, in_log_order);
  // Deleting an indicator leaves the others provable from the leaf hashes.
  auto deleted = store->Write([&rows](WriteTxn& txn) -> Status {
    return txn.DeleteIndicator(rows[4].id).status();
  });
  ASSERT_TRUE(deleted.get().ok());
  auto reader = ReaderOrDie(*store);
  auto bytes = reader->GetRecordBytes(rows[5].id, 1, 0);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, rows[5].signed_bytes);
}

// A damaged row read for a peer: a proof DecodeSignedRecord would refuse
// is not handed over decoded; it comes as bytes, which its reader (the
// sender deciding a page) refuses as it did before reads came decoded.
TEST(RecordForms, ADamagedProofReadForAPeerComesAsBytesThatDoNotDecode) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  auto rows = SignedRows(*key, "damaged", 10, 1);
  auto store = OpenOrDie(path);
  InsertAll(*store, {rows[3], rows[4]});  // a part: paths kept per record
  RawExec(path, "UPDATE records SET leaf = 50 WHERE seq = 1");
  auto reader = ReaderOrDie(*store);
  auto log = reader->LogRange(0, 10, Reader::LogReader{"peer", PublicKey{1}});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(log->size(), 2u);
  EXPECT_FALSE((*log)[0].signed_record);
  auto decoded = protocol::DecodeSignedRecord((*log)[0].signed_bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("outside tree"), std::string::npos)
      << decoded.status().message();
  ASSERT_TRUE((*log)[1].signed_record);
  EXPECT_EQ(*(*log)[1].signed_record,
            *protocol::DecodeSignedRecord(rows[4].signed_bytes));
}

TEST(RecordForms, ABatchWhoseLeafHashesComeAlongIsCompleteAtOnce) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  auto rows = SignedRows(*key, "given", 10, 1);
  auto leaves = LeafHashesOf(rows);
  for (auto& r : rows) r.batch_leaves = leaves;
  auto store = OpenOrDie(path);
  std::vector<RecordRow> some = {rows[6], rows[1], rows[8]};
  InsertAll(*store, some);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 0);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 0"), 0);
  ExpectBytesBack(*store, some);
  // Leaf hashes that do not place the record where its proof does are not
  // trusted: that batch keeps paths until it is whole.
  auto other = SignedRows(*key, "wrong", 4, 100);
  auto wrong = std::make_shared<std::vector<crypto::MerkleHash>>(
      *LeafHashesOf(other));
  (*wrong)[3][0] ^= 1;
  for (auto& r : other) r.batch_leaves = wrong;
  InsertAll(*store, {other[0], other[1]});
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 2);
  ExpectBytesBack(*store, {some[0], some[1], some[2], other[0], other[1]});
}

// A receiver of a whole batch prepares each record's form from the record
// it encoded the bytes from (PrepareReceivedForm, on its worker pool) with
// the batch's leaf hashes and seed: the store keeps it exactly as it keeps
// the bytes alone.
TEST(RecordForms, ARowBringingItsDecodedRecordIsKeptAsItsBytesAlone) {
  TempDir dir;
  auto key = crypto::IdentityKey::Generate();
  crypto::MerkleSaltSeed seed{};
  seed.fill(0x42);
  auto rows = SignedRows(*key, "decoded", 12, 1, seed);
  auto leaves = LeafHashesOf(rows);
  std::vector<protocol::SignedRecord> decoded;
  for (auto& r : rows) {
    r.batch_leaves = leaves;
    r.salt_seed = seed;
    decoded.push_back(*protocol::DecodeSignedRecord(r.signed_bytes));
  }
  std::vector<RecordRow> bringing = rows;
  BatchLevelsCache levels;
  for (size_t i = 0; i < rows.size(); ++i) {
    bringing[i].prepared =
        PrepareReceivedForm(decoded[i], rows[i].signed_bytes,
                            rows[i].body.origin, seed, leaves, levels);
  }
  EXPECT_EQ(levels.of_batch.size(), 1u);  // the batch's tree, made once
  const std::string fingerprint =
      "SELECT sum(length(body)) * 1000000 + sum(leaf) * 1000 + "
      "count(signature) + count(salt) + count(raw) FROM records";
  std::vector<int64_t> kept;
  for (const auto* given : {&rows, &bringing}) {
    const std::string path = dir.File(given == &rows ? "a.db" : "b.db");
    auto store = OpenOrDie(path);
    InsertAll(*store, *given);
    ExpectBytesBack(*store, rows);
    EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 0);
    EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 1 "
                          "AND salt_seed IS NOT NULL"),
              1);
    EXPECT_EQ(Count(path, "SELECT count(*) FROM records WHERE salt IS NOT "
                          "NULL OR raw IS NOT NULL"),
              0);
    kept.push_back(Count(path, fingerprint));
  }
  EXPECT_EQ(kept[0], kept[1]);
  // The store keeps the record it is handed, not the bytes (which is why
  // only a caller that encoded the bytes from it may hand it): row 0 handed
  // row 1's record reads back as row 1's bytes.
  const std::string path = dir.File("c.db");
  auto store = OpenOrDie(path);
  RecordRow swapped = rows[0];
  swapped.prepared = PrepareReceivedForm(decoded[1], rows[0].signed_bytes,
                                         rows[0].body.origin, seed, leaves,
                                         levels);
  InsertAll(*store, {swapped});
  auto reader = ReaderOrDie(*store);
  auto bytes = reader->GetRecordBytes(rows[0].id, 1, 0);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, rows[1].signed_bytes);
}

TEST(RecordForms, SingleSignaturesAndUnreadableBytesComeBackAsGiven) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto key = crypto::IdentityKey::Generate();
  std::vector<RecordRow> rows = SignedRows(*key, "single", 1, 1);
  RecordRow opaque = Row(*key, "opaque.example", 2);
  opaque.signed_bytes = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3};
  rows.push_back(opaque);
  auto store = OpenOrDie(path);
  InsertAll(*store, rows);
  ExpectBytesBack(*store, rows);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM records WHERE raw IS NOT NULL"),
            1);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM records WHERE signature IS "
                        "NOT NULL"),
            1);
}

// A version-14 store (what the code before migration 15 wrote: whole
// signed bytes per record) with `batches` batches of `per_batch` records
// (the last one only partly held) and one single-signed record.
std::vector<RecordRow> WriteVersion14Store(const std::string& path,
                                           size_t batches, size_t per_batch) {
  { OpenOrDie(path); }
  RawExec(path, testing::kRollBackToSchema14);
  auto key = crypto::IdentityKey::Generate();
  std::vector<RecordRow> rows;
  for (size_t b = 0; b < batches; ++b) {
    auto batch = SignedRows(*key, "b" + std::to_string(b) + "-", per_batch,
                            1 + b * per_batch);
    if (b + 1 == batches) batch.resize(per_batch / 2);
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  auto single = SignedRows(*key, "lone", 1, 1'000'000);
  rows.push_back(single[0]);
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO records (id, revision, variant, origin, "
                     "origin_seq, created, signed_bytes, received_from, "
                     "stored_at) VALUES (?, 1, 0, ?, ?, ?, ?, NULL, 5)",
                     -1, &st, nullptr);
  for (const RecordRow& r : rows) {
    sqlite3_bind_blob(st, 1, r.id.data(), 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r.body.origin.data(), 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, static_cast<int64_t>(r.body.origin_seq));
    sqlite3_bind_int64(st, 4, r.body.created);
    sqlite3_bind_blob(st, 5, r.signed_bytes.data(),
                      static_cast<int>(r.signed_bytes.size()), SQLITE_STATIC);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  // Each record's indicator row, as the code before wrote it.
  sqlite3_prepare_v2(
      db,
      "INSERT INTO indicators (id, type, value, origin, origin_country, "
      "origin_name, revision, variant, record_seq, tlp, confidence, "
      "description, created, valid_until, first_seen, last_seen, reshare, "
      "revoked, revoke_reason, received_from, quarantined, warning, "
      "stored_at) SELECT r.id, 2, ?, r.origin, 'UZ', 'UZ-CERT', 1, 0, r.seq, "
      "1, 50, '', r.created, 0, 0, 0, 0, 0, '', NULL, 0, 0, 5 "
      "FROM records r WHERE r.id = ?",
      -1, &st, nullptr);
  for (const RecordRow& r : rows) {
    sqlite3_bind_text(st, 1, r.body.indicator.value.c_str(), -1,
                      SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r.id.data(), 32, SQLITE_STATIC);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  // A deleted last entry: its log number must stay used.
  sqlite3_exec(db,
               "INSERT INTO records (id, revision, variant, origin, "
               "origin_seq, created, signed_bytes, stored_at) VALUES "
               "(zeroblob(32), 1, 0, zeroblob(32), 0, 0, x'00', 5);"
               "DELETE FROM records WHERE seq = (SELECT max(seq) FROM records);"
               "COMMIT",
               nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rows;
}

void ExpectMigrated(const std::string& path,
                    const std::vector<RecordRow>& rows) {
  auto store = OpenOrDie(path);
  ExpectBytesBack(*store, rows);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"),
            internal::kSchemaVersion);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM pragma_table_info('records') "
                        "WHERE name = 'signed_bytes'"),
            0);
  // Whole batches lost their paths; the half-held one kept them.
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 0"), 1);
  EXPECT_GT(Count(path, "SELECT count(*) FROM record_paths"), 0);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM pragma_integrity_check "
                        "WHERE integrity_check != 'ok'"),
            0);
  ExpectLeafHashesInChunks(path);
  // The next log number follows the deleted last entry of version 14.
  RecordRow next = SignedRows(*crypto::IdentityKey::Generate(), "next", 1,
                              1)[0];
  auto o = store->WriteValue<InsertOutcome>(
      [&next](WriteTxn& txn) { return txn.InsertRecord(next); });
  auto outcome = o.get();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->log_seq, rows.size() + 2);
}

TEST(RecordFormsMigration, AVersion14StoreIsConvertedInPlace) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto rows = WriteVersion14Store(path, 4, 50);
  ExpectMigrated(path, rows);
}

// kill -9 at random moments of the migration: the store is then at
// version 14 with every record as it was, or at 15 converted, never in
// between; the next open finishes the job.
TEST(RecordFormsMigration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const std::string original = dir.File("v14.db");
  auto rows = WriteVersion14Store(original, 20, 500);
  const int killed_at_14 = testing::KillDuringOpen(
      dir, original, 6, 20261206, 14, [&rows](const std::string& path) {
        if (Count(path, "SELECT max(version) FROM schema_version") == 14) {
          EXPECT_EQ(Count(path, "SELECT count(*) FROM records"),
                    static_cast<int64_t>(rows.size()));
        }
        ExpectMigrated(path, rows);
      });
  // The kill points are spread over the migration's time: most land in it.
  RecordProperty("killed_before_commit", killed_at_14);
}

}  // namespace
}  // namespace caravan::store
