// PrepareRecords (write_txn.h) moves the database-free half of storing a
// record off the writer thread. The property: a store fed prepared rows
// ends up byte for byte the same as one fed the same rows unprepared,
// whatever the mix (batches whole or in parts, with or without seed and
// leaf hashes, wrong leaf hashes, single signatures, unreadable bytes,
// duplicates, rows changed after they were prepared), and gives every
// record back.

#include <cstdlib>
#include <future>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/merkle.h"
#include "protocol/record_codec.h"
#include "daemon/store/record_forms.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using testing::ExpectBytesBack;
using testing::FakeClock;
using testing::LeafHashesOf;
using testing::OpenOrDie;
using testing::TempDir;

// Every row of the tables a record's form lives in, as text.
std::string DumpForms(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  std::string out;
  for (const char* sql :
       {"SELECT * FROM records ORDER BY seq",
        "SELECT * FROM batches ORDER BY bid",
        "SELECT * FROM batch_leaves ORDER BY bid, chunk",
        "SELECT * FROM record_paths ORDER BY seq",
        "SELECT rid, id, revision, variant, record_seq FROM indicators "
        "ORDER BY rid"}) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
    out += sql;
    out += '\n';
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* bytes =
            static_cast<const unsigned char*>(sqlite3_column_blob(st, c));
        const int n = sqlite3_column_bytes(st, c);
        out += sqlite3_column_type(st, c) == SQLITE_NULL ? "NULL" : "";
        for (int i = 0; i < n; ++i) out += "0123456789abcdef"[bytes[i] >> 4];
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

// Writes of a few rows each, drawn from batches of every kind.
std::vector<std::vector<RecordRow>> RandomWrites(std::mt19937& rng) {
  auto key = crypto::IdentityKey::Generate();
  std::vector<RecordRow> pool;
  uint64_t seq = 1;
  for (int b = 0; b < 12; ++b) {
    const size_t n = 1 + rng() % 40;
    const std::string prefix = "b" + std::to_string(b) + "-";
    std::optional<crypto::MerkleSaltSeed> seed;
    if (rng() % 2 == 0) {
      seed.emplace();
      for (auto& byte : *seed) byte = static_cast<uint8_t>(rng());
    }
    auto rows = testing::SignedRows(*key, prefix, n, seq, seed);
    seq += n;
    if (n > 1 && !seed) {
      switch (rng() % 3) {
        case 0: {  // every leaf hash, as a receiver of a whole batch has
          auto leaves = LeafHashesOf(rows);
          for (auto& r : rows) r.batch_leaves = leaves;
          break;
        }
        case 1: {  // leaf hashes that do not hold the batch
          auto wrong = std::make_shared<std::vector<crypto::MerkleHash>>(
              *LeafHashesOf(rows));
          (*wrong)[rng() % n][rng() % 32] ^= 1;
          for (auto& r : rows) r.batch_leaves = wrong;
          break;
        }
        default:  // none: the batch keeps paths until it is whole
          break;
      }
    }
    if (rng() % 5 == 0) {
      rows[rng() % n].signed_bytes = {0xde, 0xad, static_cast<uint8_t>(b)};
    }
    for (auto& r : rows) pool.push_back(std::move(r));
  }
  std::shuffle(pool.begin(), pool.end(), rng);
  // Some rows twice (a duplicate is a no-op), some batches only in part.
  for (size_t i = 0; i < pool.size() / 8; ++i) {
    pool.push_back(pool[rng() % pool.size()]);
  }
  pool.resize(pool.size() - pool.size() / 6);
  std::vector<std::vector<RecordRow>> writes;
  for (size_t at = 0; at < pool.size();) {
    const size_t n = std::min(pool.size() - at, size_t{1} + rng() % 30);
    writes.emplace_back(pool.begin() + at, pool.begin() + at + n);
    at += n;
  }
  return writes;
}

// Stores on one fake clock, so two stores fed the same rows stamp them
// alike.
class ClockedStores {
 public:
  ClockedStores() { options_.clock = clock_.Fn(); }
  std::unique_ptr<Store> Open(const std::string& name) {
    return OpenOrDie(dir_.File(name), options_);
  }
  std::string Path(const std::string& name) const { return dir_.File(name); }

 private:
  TempDir dir_;
  FakeClock clock_;
  StoreOptions options_;
};

TEST(PreparedRecords, RowsChangedAfterPreparingAreStoredAsTheyAreNow) {
  const uint32_t seed =
      testing::SeedFromEnv("CARAVAN_PREPARED_MODEL_SEED", 2611);
  SCOPED_TRACE("CARAVAN_PREPARED_MODEL_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  const auto writes = RandomWrites(rng);

  ClockedStores stores;
  auto prepared = stores.Open("prepared.db");
  std::vector<RecordRow> all;
  std::set<IndicatorId> held;
  for (const auto& write : writes) {
    std::vector<RecordRow> rows = write;
    PrepareRecords(rows);
    // A row changed after it was prepared is stored as it is now, never
    // as the form prepared for it before.
    if (rng() % 3 == 0) {
      RecordRow& changed = rows[rng() % rows.size()];
      switch (rng() % 3) {
        case 0:
          changed.signed_bytes = {0xfe, 0xed, static_cast<uint8_t>(rng())};
          break;
        case 1:
          changed.salt_seed.reset();
          break;
        default:
          changed.batch_leaves = nullptr;
          break;
      }
    }
    // A second copy of a record held is a no-op: the first one stays.
    for (const auto& r : rows) {
      if (held.insert(r.id).second) all.push_back(r);
    }
    testing::InsertAll(*prepared, rows);
  }
  prepared->Close();
  ExpectBytesBack(*stores.Open("prepared.db"), all);
}

// Without changes after preparing, the two stores are identical.
TEST(PreparedRecords, UnchangedRowsGiveIdenticalTables) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto writes = RandomWrites(rng);
    ClockedStores stores;
    auto plain = stores.Open("plain.db");
    auto prepared = stores.Open("prepared.db");
    for (const auto& write : writes) {
      testing::InsertAll(*plain, write);
      std::vector<RecordRow> rows = write;
      PrepareRecords(rows);
      // Each row carries a form InsertRecord will take as its own (else
      // this test would pass with preparing doing nothing).
      for (const RecordRow& r : rows) {
        ASSERT_NE(r.prepared, nullptr);
        EXPECT_TRUE(internal::PreparedFor(*r.prepared, r.signed_bytes,
                                          r.body.origin, r.salt_seed,
                                          r.batch_leaves));
      }
      testing::InsertAll(*prepared, rows);
    }
    plain->Close();
    prepared->Close();
    const std::string a = DumpForms(stores.Path("plain.db"));
    EXPECT_GT(a.size(), 1000u);
    EXPECT_EQ(a, DumpForms(stores.Path("prepared.db")));
  }
}

// Rows prepared from their signer's records (PrepareSignerRecords, what
// the submitter does) carry the very forms PrepareForm makes from the
// bytes, and store the same tables.
TEST(PreparedRecords, SignerPreparedFormsEqualThoseMadeFromTheBytes) {
  std::mt19937 rng(7);
  auto key = crypto::IdentityKey::Generate();
  ClockedStores stores;
  auto plain = stores.Open("plain.db");
  auto signer = stores.Open("signer.db");
  uint64_t seq = 1;
  for (int b = 0; b < 16; ++b) {
    const size_t n = b == 0 ? 1 : 1 + rng() % 300;
    crypto::MerkleSaltSeed seed{};
    for (auto& byte : seed) byte = static_cast<uint8_t>(rng());
    auto rows =
        testing::SignedRows(*key, "s" + std::to_string(b) + "-", n, seq, seed);
    seq += n;
    std::vector<protocol::SignedRecord> records;
    for (const auto& r : rows) {
      auto decoded = protocol::DecodeSignedRecord(r.signed_bytes);
      ASSERT_TRUE(decoded.ok());
      records.push_back(*decoded);
    }
    std::vector<RecordRow> by_bytes = rows;
    PrepareRecords(by_bytes);
    std::vector<RecordRow> by_signer = rows;
    PrepareSignerRecords(by_signer, records);
    for (size_t i = 0; i < n; ++i) {
      SCOPED_TRACE("batch " + std::to_string(b) + " row " + std::to_string(i));
      const internal::PreparedForm& want = *by_bytes[i].prepared;
      const internal::PreparedForm& got = *by_signer[i].prepared;
      EXPECT_TRUE(internal::PreparedFor(got, rows[i].signed_bytes,
                                        rows[i].body.origin, rows[i].salt_seed,
                                        rows[i].batch_leaves));
      EXPECT_TRUE(got.form.raw.empty());
      EXPECT_EQ(got.form.body, want.form.body);
      EXPECT_EQ(got.form.signature, want.form.signature);
      EXPECT_EQ(got.form.leaf, want.form.leaf);
      EXPECT_EQ(got.form.salt, want.form.salt);
      EXPECT_EQ(got.form.path, want.form.path);
      EXPECT_EQ(got.batched, want.batched);
      EXPECT_EQ(got.root_signature, want.root_signature);
      EXPECT_EQ(got.tree_size, want.tree_size);
      EXPECT_EQ(got.leaf_hash, want.leaf_hash);
      EXPECT_EQ(got.path, want.path);
      EXPECT_EQ(got.seed_fits, want.seed_fits);
      EXPECT_EQ(got.levels_decided, want.levels_decided);
      EXPECT_EQ(got.levels != nullptr, want.levels != nullptr);
      EXPECT_EQ(got.seed_fits, n > 1);
    }
    testing::InsertAll(*plain, rows);
    testing::InsertAll(*signer, by_signer);
  }
  plain->Close();
  signer->Close();
  const std::string a = DumpForms(stores.Path("plain.db"));
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, DumpForms(stores.Path("signer.db")));
}

// A seed that does not give the rows' salts (a caller breaking
// PrepareSignerRecords' contract on the seed) is caught: the records are
// stored with their own salts and read back as signed.
TEST(PreparedRecords, SignerRowsWithAnotherSeedStillReadBackAsSigned) {
  auto key = crypto::IdentityKey::Generate();
  crypto::MerkleSaltSeed seed{}, other{};
  seed.fill(7);
  other.fill(8);
  auto rows = testing::SignedRows(*key, "w-", 40, 1, seed);
  std::vector<protocol::SignedRecord> records;
  for (auto& r : rows) {
    records.push_back(*protocol::DecodeSignedRecord(r.signed_bytes));
    r.salt_seed = other;
  }
  PrepareSignerRecords(rows, records);
  for (const auto& r : rows) {
    ASSERT_NE(r.prepared, nullptr);
    EXPECT_FALSE(r.prepared->seed_fits);
  }
  ClockedStores stores;
  auto store = stores.Open("signer.db");
  testing::InsertAll(*store, rows);
  store->Close();
  ExpectBytesBack(*stores.Open("signer.db"), rows);
}

// A function of a group commit that made a batch row and then failed
// takes the row with it (its savepoint): another function of the same
// transaction storing records of that batch must make the row again, not
// use what the store remembered of it.
TEST(PreparedRecords, ABatchRowRolledBackWithItsFunctionIsMadeAgain) {
  for (const bool with_leaves : {false, true}) {
    SCOPED_TRACE(with_leaves ? "leaf hashes given" : "no leaf hashes");
    TempDir dir;
    auto store = Store::Open(dir.File("s.db"));
    ASSERT_TRUE(store.ok());
    auto key = crypto::IdentityKey::Generate();
    auto rows = testing::SignedRows(*key, "rolled", 6, 1);
    if (with_leaves) {
      auto leaves = LeafHashesOf(rows);
      for (auto& r : rows) r.batch_leaves = leaves;
    }
    PrepareRecords(rows);
    // Holds the writer so that the next two functions share a transaction.
    std::promise<void> release;
    auto blocker = (*store)->Write([gate = release.get_future().share()](
                                       WriteTxn&) {
      gate.wait();
      return Status::Ok();
    });
    auto failed = (*store)->Write([&](WriteTxn& txn) -> Status {
      for (size_t i = 0; i < 3; ++i) {
        auto o = txn.InsertRecord(rows[i]);
        if (!o.ok()) return o.status();
      }
      return Denied("rolled back on purpose");
    });
    auto stored = (*store)->Write([&](WriteTxn& txn) -> Status {
      for (size_t i = 3; i < 6; ++i) {
        auto o = txn.InsertRecord(rows[i]);
        if (!o.ok()) return o.status();
      }
      return Status::Ok();
    });
    release.set_value();
    EXPECT_TRUE(blocker.get().ok());
    EXPECT_EQ(failed.get().code(), StatusCode::kDenied);
    ASSERT_TRUE(stored.get().ok());
    ExpectBytesBack(**store, {rows[3], rows[4], rows[5]});
    (*store)->Close();
    EXPECT_EQ(testing::Count(dir.File("s.db"), "SELECT count(*) FROM batches"),
              1);
  }
}

}  // namespace
}  // namespace caravan::store
