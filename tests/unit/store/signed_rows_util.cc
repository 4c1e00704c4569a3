#include "tests/unit/store/signed_rows_util.h"

#include <sqlite3.h>

#include <map>
#include <span>

#include "crypto/merkle.h"
#include "crypto/signing.h"
#include "daemon/store/index_levels.h"
#include "protocol/record_codec.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {

using protocol::IndicatorType;

// A row for `value` whose signed bytes are a real signed record (body
// encoded as the protocol does; signature from `sign`).
RecordRow Row(const crypto::IdentityKey& key, const std::string& value,
              uint64_t origin_seq) {
  RecordRow r;
  r.body.origin = key.public_key();
  r.body.origin_seq = origin_seq;
  r.body.revision = 1;
  r.body.created = 1'700'000'000 + static_cast<int64_t>(origin_seq);
  r.body.indicator.type = IndicatorType::kDomain;
  r.body.indicator.value = value;
  r.body.indicator.tags = {"phishing"};
  r.body.indicator.confidence = 50;
  r.id = protocol::ComputeIndicatorId(r.body.origin, IndicatorType::kDomain,
                                      value);
  r.origin_country = "UZ";
  r.origin_name = "UZ-CERT";
  return r;
}

// `n` rows signed as one Merkle batch (n == 1: a single signature).
std::vector<RecordRow> SignedRows(
    const crypto::IdentityKey& key, const std::string& prefix, size_t n,
    uint64_t first_seq, const std::optional<crypto::MerkleSaltSeed>& seed) {
  std::vector<RecordRow> rows;
  std::vector<std::vector<uint8_t>> bodies;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(
        Row(key, prefix + std::to_string(i) + ".example", first_seq + i));
    bodies.push_back(protocol::EncodeRecordBody(rows.back().body));
  }
  if (n == 1) {
    protocol::SignedRecord single{
        bodies[0], crypto::Sign(key, crypto::SignDomain::kRecord, bodies[0])};
    rows[0].signed_bytes = protocol::EncodeSignedRecord(single);
    return rows;
  }
  std::vector<std::span<const uint8_t>> leaves(bodies.begin(), bodies.end());
  crypto::SignedBatch batch = seed ? crypto::SignSeededBatch(key, leaves, *seed)
                                   : crypto::SignBatch(key, leaves);
  std::shared_ptr<const std::vector<crypto::MerkleHash>> leaf_hashes;
  if (seed) {
    leaf_hashes = std::make_shared<const std::vector<crypto::MerkleHash>>(
        batch.leaf_hashes);
  }
  for (size_t i = 0; i < n; ++i) {
    protocol::BatchProofData proof;
    proof.salt = batch.proofs[i].salt;
    proof.leaf_index = batch.proofs[i].leaf_index;
    proof.tree_size = batch.proofs[i].tree_size;
    proof.path = batch.proofs[i].path;
    proof.root_signature = batch.root_signature;
    rows[i].signed_bytes =
        protocol::EncodeSignedRecord({bodies[i], std::move(proof)});
    if (seed) {
      // As the submitter hands its own batches to the store.
      rows[i].salt_seed = *seed;
      rows[i].batch_leaves = leaf_hashes;
    }
  }
  return rows;
}

std::shared_ptr<const std::vector<crypto::MerkleHash>> LeafHashesOf(
    const std::vector<RecordRow>& rows) {
  auto out = std::make_shared<std::vector<crypto::MerkleHash>>();
  for (const RecordRow& r : rows) {
    auto rec = protocol::DecodeSignedRecord(r.signed_bytes);
    const auto& proof = std::get<protocol::BatchProofData>(rec->signature);
    out->push_back(crypto::MerkleLeafHash(proof.salt, rec->body));
  }
  return out;
}

void InsertAll(Store& store, const std::vector<RecordRow>& rows) {
  auto done = store.Write([&rows](WriteTxn& txn) -> Status {
    for (const RecordRow& row : rows) {
      auto o = txn.InsertRecord(row);
      if (!o.ok()) return o.status();
    }
    return Status::Ok();
  });
  ASSERT_TRUE(done.get().ok());
}

int64_t Count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    // A wrong table or column must fail the test, not compare -1 to -1.
    ADD_FAILURE() << sqlite3_errmsg(db) << " in " << sql;
  } else if (sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::string QueryPlan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string explain = "EXPLAIN QUERY PLAN " + sql;
  EXPECT_EQ(sqlite3_prepare_v2(db, explain.c_str(), -1, &st, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return plan;
}

void ExpectEveryRowKeyedOnce(const std::string& path, int64_t rows) {
  // "SELECT <what> FROM <table>_0 <joiner> SELECT <what> FROM <table>_1 ...".
  const auto levels = [](const std::string& what, const std::string& table,
                         const std::string& joiner) {
    std::string sql;
    for (const char* level : internal::kKeyLevels) {
      if (!sql.empty()) sql += joiner;
      sql += "SELECT " + what + " FROM " + table + level;
    }
    return sql;
  };
  EXPECT_EQ(Count(path, "SELECT count(*) FROM indicators"), rows);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM (" +
                            levels("rid", "id_keys", " UNION ") +
                            ") JOIN indicators USING (rid)"),
            rows);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM (" +
                            levels("k", "id_keys", " UNION ALL ") + ")"),
            rows);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM (" +
                            levels("rid", "value_keys", " UNION ALL ") +
                            " UNION ALL " +
                            levels("rid", "ip_keys", " UNION ALL ") + ")"),
            rows);
}

// Every row's signed bytes, read back three ways, are what was stored.
void ExpectBytesBack(Store& store, const std::vector<RecordRow>& rows) {
  auto reader = ReaderOrDie(store);
  std::map<IndicatorId, const RecordRow*> by_id;
  for (const RecordRow& r : rows) by_id[r.id] = &r;
  auto log = reader->LogRange(0, kMaxQueryLimit);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(log->size(), rows.size());
  for (const StoredRecord& rec : *log) {
    ASSERT_EQ(rec.signed_bytes, by_id.at(rec.id)->signed_bytes)
        << "log entry " << rec.seq;
    EXPECT_FALSE(rec.signed_record) << "log entry " << rec.seq;
  }
  // Read for a peer (a sender's pages), each entry comes decoded, and is
  // what decoding its bytes gives; bytes that do not decode come as bytes.
  const PublicKey stranger{0x5a};
  auto for_peer = reader->LogRange(0, kMaxQueryLimit,
                                   Reader::LogReader{"a-stranger", stranger});
  ASSERT_TRUE(for_peer.ok()) << for_peer.status().ToString();
  ASSERT_EQ(for_peer->size(), rows.size());
  for (const StoredRecord& rec : *for_peer) {
    const std::vector<uint8_t>& given = by_id.at(rec.id)->signed_bytes;
    auto decoded = protocol::DecodeSignedRecord(given);
    if (!decoded.ok()) {
      EXPECT_FALSE(rec.signed_record) << "log entry " << rec.seq;
      EXPECT_EQ(rec.signed_bytes, given) << "log entry " << rec.seq;
      continue;
    }
    ASSERT_TRUE(rec.signed_record) << "log entry " << rec.seq;
    EXPECT_TRUE(rec.signed_bytes.empty()) << "log entry " << rec.seq;
    EXPECT_EQ(*rec.signed_record, *decoded) << "log entry " << rec.seq;
  }
  for (const RecordRow& r : rows) {
    auto bytes = reader->GetRecordBytes(r.id, 1, 0);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(*bytes, r.signed_bytes);
  }
  auto revisions = reader->GetRevisions(rows.back().id);
  ASSERT_TRUE(revisions.ok());
  ASSERT_EQ(revisions->size(), 1u);
  EXPECT_EQ((*revisions)[0].signed_bytes, rows.back().signed_bytes);
}

void ExpectLeafHashesInChunks(const std::string& path) {
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM pragma_table_info('batches') "
                  "WHERE name = 'leaves'"),
            0);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM batch_leaves l "
                  "JOIN batches b ON b.bid = l.bid WHERE b.complete = 0"),
            0);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batch_leaves"),
            Count(path,
                  "SELECT coalesce(sum((tree_size + 15) / 16), 0) "
                  "FROM batches WHERE complete = 1"));
  EXPECT_EQ(Count(path,
                  "SELECT coalesce(sum(length(hashes)), 0) "
                  "FROM batch_leaves"),
            Count(path,
                  "SELECT coalesce(sum(32 * tree_size), 0) FROM batches "
                  "WHERE complete = 1"));
  // Every chunk but a batch's last holds 16 leaves.
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM batch_leaves l "
                  "JOIN batches b ON b.bid = l.bid "
                  "WHERE length(l.hashes) != 32 * min(16, b.tree_size - "
                  "16 * l.chunk)"),
            0);
}

}  // namespace caravan::store::testing
