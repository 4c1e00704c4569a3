// raw_insert: the baseline for the end-to-end bulk submit benchmark. Inserts
// the values of a text file (one value per line) as rows of the same shape
// the daemon stores (indicators + records with the store's schema and
// indexes, a record body of a given size, BLAKE2b ids so their keys land
// at random places like real ones; the store's duplicate check by id (its
// filter of held ids first, daemon/store/id_key_filter.h), its
// id key and value or address key at level 0, merged into levels 1 and 2
// as the store's writer does, daemon/store/index_levels.h), with raw prepared
// SQLite statements, synchronous=FULL like the store's default, and none
// of the node's work (parsing, signing, audit, control socket).
//
//   raw_insert VALUES_FILE RECORD_BYTES BATCH
//
// RECORD_BYTES: the bytes a record's own columns hold (the store's mean
// `body` + `salt` + `signature` + `raw`, daemon/store/schema.md).
//
// BATCH: rows per transaction (0: all rows in one transaction). Prints one
// line: "raw_insert rows=N batch=B seconds=S rate=R".
//
// For experiments on the store's shape (tests/bench/e2e/raw_scaling.sh),
// optional environment variables change what the baseline is given; unset,
// it is the one the scale benchmark compares with:
//   RAW_CACHE_MIB      page cache (default 64, the writer's cache_mib)
//   RAW_PAGE_SIZE      database page size in bytes (default: SQLite's 4096)
//   RAW_MMAP_MIB       mmap_size (default 0: pages read with pread)
//   RAW_CHECKPOINT_MIB WAL bytes between automatic checkpoints (default:
//                      SQLite's 1000 pages)
//   RAW_STEP_ROWS      also print "raw_insert step rows=N rate=R" after
//                      every so many rows (the rate of that step alone)
//   RAW_LEVEL0_ROWS    merge level 0 into level 1 after the commit that
//                      brings level 0 to this many rows (default: the
//                      store's StoreOptions::level0_merge_rows)
//   RAW_LEVEL1_ROWS    then level 1 into level 2 when it holds this many
//                      (default: StoreOptions::level1_merge_rows)
//   RAW_ID_FILTER_MIB  the filter of held ids the duplicate check asks
//                      first (default: the store's, 8; 0: none, every id
//                      searched at every level)
//   RAW_SQL            SQL run once after the pragmas, before the first row
//                      (e.g. DROP INDEX ..., to price an index)
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/store/id_key_filter.h"
#include "daemon/store/index_levels.h"
#include "daemon/store/store.h"
#include "protocol/ip_network.h"

namespace {

void Check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "raw_insert: sqlite: %s\n", sqlite3_errmsg(db));
    std::exit(1);  // a broken baseline must not print a number
  }
}

// A whole number (>= 0) from the environment, or `fallback` when unset.
long EnvNumber(const char* name, long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < 0) {
    std::fprintf(stderr, "raw_insert: %s must be a whole number, got '%s'\n",
                 name, text);
    std::exit(2);
  }
  return v;
}

// Moves key level `from` into the next one in key order, as the store's
// writer does (internal::MergeLevel), in a transaction of its own.
void MergeLevel(sqlite3* db, int from) {
  const std::string a = "_" + std::to_string(from);
  const std::string b = "_" + std::to_string(from + 1);
  const std::string sql =
      "BEGIN IMMEDIATE; "
      "INSERT INTO id_keys" + b + " SELECT k, rid FROM id_keys" + a +
      " ORDER BY k, rid; DELETE FROM id_keys" + a + "; "
      "INSERT INTO value_keys" + b + " SELECT k, rid FROM value_keys" + a +
      " ORDER BY k, rid; DELETE FROM value_keys" + a + "; "
      "INSERT INTO ip_keys" + b + " SELECT family, prefix, first, rid FROM "
      "ip_keys" + a + " ORDER BY family, prefix, first, rid; "
      "DELETE FROM ip_keys" + a + "; COMMIT";
  Check(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), db);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: raw_insert VALUES_FILE RECORD_BYTES BATCH\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  std::vector<std::string> values;
  {
    std::ifstream in(argv[1]);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) values.push_back(l);
    }
  }
  const size_t record_bytes = std::stoul(argv[2]);
  const size_t batch = std::stoul(argv[3]);

  char tmpl[] = "/tmp/cvraw-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::filesystem::path dir = tmpl;
  const std::string path = (dir / "raw.db").string();
  const long cache_mib = EnvNumber("RAW_CACHE_MIB", 64);
  const long page_size = EnvNumber("RAW_PAGE_SIZE", 0);
  const long mmap_mib = EnvNumber("RAW_MMAP_MIB", 0);
  const long checkpoint_mib = EnvNumber("RAW_CHECKPOINT_MIB", 0);
  const size_t step_rows = size_t(EnvNumber("RAW_STEP_ROWS", 0));
  const caravan::store::StoreOptions defaults;
  const size_t l0_rows =
      size_t(EnvNumber("RAW_LEVEL0_ROWS", long(defaults.level0_merge_rows)));
  const size_t l1_rows =
      size_t(EnvNumber("RAW_LEVEL1_ROWS", long(defaults.level1_merge_rows)));
  sqlite3* db = nullptr;
  if (page_size != 0) {
    // Fixed before the first table exists; the store keeps it.
    Check(sqlite3_open(path.c_str(), &db), db);
    const std::string sql = "PRAGMA page_size = " + std::to_string(page_size) +
                            "; CREATE TABLE p (x); DROP TABLE p";
    Check(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), db);
    sqlite3_close(db);
  }
  {
    // The store creates the same schema and indexes the daemon uses.
    auto store = caravan::store::Store::Open(path);
    if (!store.ok()) {
      std::fprintf(stderr, "raw_insert: %s\n", store.status().message().c_str());
      return 1;
    }
  }
  Check(sqlite3_open(path.c_str(), &db), db);
  std::string pragmas =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
      "PRAGMA cache_size=-" +
      std::to_string(cache_mib * 1024) +
      "; PRAGMA mmap_size=" + std::to_string(mmap_mib * 1024 * 1024) + ";";
  if (checkpoint_mib != 0) {
    const long page = page_size != 0 ? page_size : 4096;
    pragmas += "PRAGMA wal_autocheckpoint=" +
               std::to_string(checkpoint_mib * 1024 * 1024 / page) + ";";
  }
  Check(sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), db);
  if (const char* extra = std::getenv("RAW_SQL")) {
    Check(sqlite3_exec(db, extra, nullptr, nullptr, nullptr), db);
  }
  sqlite3_stmt *find_id = nullptr, *id_of = nullptr, *add_id = nullptr,
               *add_val = nullptr, *add_ip = nullptr;
  Check(sqlite3_prepare_v2(db,
                           "SELECT rid FROM id_keys_0 WHERE k = ?1 UNION ALL "
                           "SELECT rid FROM id_keys_1 WHERE k = ?1 UNION ALL "
                           "SELECT rid FROM id_keys_2 WHERE k = ?1",
                           -1, &find_id, nullptr),
        db);
  Check(sqlite3_prepare_v2(db, "SELECT id FROM indicators WHERE rid = ?", -1,
                           &id_of, nullptr),
        db);
  Check(sqlite3_prepare_v2(db, "INSERT INTO id_keys_0 VALUES (?, ?)", -1,
                           &add_id, nullptr),
        db);
  Check(sqlite3_prepare_v2(db, "INSERT INTO value_keys_0 VALUES (?, ?)", -1,
                           &add_val, nullptr),
        db);
  Check(sqlite3_prepare_v2(db, "INSERT INTO ip_keys_0 VALUES (?, ?, ?, ?)", -1,
                           &add_ip, nullptr),
        db);
  size_t in_l0 = 0;
  size_t in_l1 = 0;
  sqlite3_stmt *rec = nullptr, *ind = nullptr;
  Check(sqlite3_prepare_v2(
            db,
            "INSERT INTO records (seq, rid, revision, variant, origin_seq, "
            "created, received_from, stored_at, body) VALUES (?, ?, 1, 0, ?, "
            "?, NULL, ?, ?)",
            -1, &rec, nullptr), db);
  Check(sqlite3_prepare_v2(
            db,
            "INSERT INTO indicators (id, type, value, origin, origin_country, "
            "origin_name, revision, variant, record_seq, tlp, confidence, "
            "description, created, valid_until, first_seen, last_seen, "
            "reshare, revoked, revoke_reason, received_from, quarantined, "
            "warning, stored_at) "
            "VALUES (?, 1, ?, ?, 'UZ', 'CERT-UZ', 1, 0, ?, 2, 50, '', ?, 0, "
            "0, 0, 1, 0, '', NULL, 0, 0, ?)",
            -1, &ind, nullptr),
        db);
  std::vector<uint8_t> origin(32, 7), body(record_bytes, 0x5a);
  const int64_t now = 1'700'000'000;

  caravan::store::internal::IdKeyFilter id_filter(
      size_t(
          EnvNumber("RAW_ID_FILTER_MIB",
                    long(caravan::store::StoreOptions{}.id_filter_bytes >> 20)))
      << 20);
  const auto start = std::chrono::steady_clock::now();
  auto step_start = start;
  size_t in_txn = 0;
  Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    uint8_t id[32];
    crypto_generichash(id, sizeof id,
                       reinterpret_cast<const uint8_t*>(v.data()), v.size(),
                       nullptr, 0);
    // As the store does: the indicator's row first, naming the log entry
    // its record gets; the record names the indicator's rowid.
    const int64_t seq = int64_t(i + 1);
    caravan::store::internal::ShortKey id_key;
    std::memcpy(id_key.data(), id, id_key.size());
    if (id_filter.MayHold(id_key)) {
      // The store's duplicate check: every row an 8-byte key names, its
      // whole id compared; searched only when the writer's filter of held
      // ids (id_key_filter.h) may hold the key, as the store does.
      sqlite3_bind_blob(find_id, 1, id, 8, SQLITE_STATIC);
      while (sqlite3_step(find_id) == SQLITE_ROW) {
        sqlite3_bind_int64(id_of, 1, sqlite3_column_int64(find_id, 0));
        if (sqlite3_step(id_of) == SQLITE_ROW &&
            std::memcmp(sqlite3_column_blob(id_of, 0), id, 32) == 0) {
          std::fprintf(stderr, "raw_insert: duplicate value %s\n", v.c_str());
          return 1;
        }
        sqlite3_reset(id_of);
      }
      sqlite3_reset(find_id);
    }
    sqlite3_bind_blob(ind, 1, id, 32, SQLITE_STATIC);
    sqlite3_bind_text(ind, 2, v.data(), int(v.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ind, 3, origin.data(), 32, SQLITE_STATIC);
    sqlite3_bind_int64(ind, 4, seq);
    sqlite3_bind_int64(ind, 5, now);
    sqlite3_bind_int64(ind, 6, now);
    Check(sqlite3_step(ind), db);
    sqlite3_reset(ind);
    const int64_t rid = sqlite3_last_insert_rowid(db);
    sqlite3_bind_blob(add_id, 1, id, 8, SQLITE_STATIC);
    sqlite3_bind_int64(add_id, 2, rid);
    Check(sqlite3_step(add_id), db);
    sqlite3_reset(add_id);
    id_filter.Add(id_key);
    if (auto net = caravan::protocol::ParseIpNetwork(v)) {
      const std::array<uint8_t, 16> first = net->First();
      sqlite3_bind_int(add_ip, 1, net->is_v6 ? 6 : 4);
      sqlite3_bind_int(add_ip, 2, net->prefix);
      sqlite3_bind_blob(add_ip, 3, first.data(), 16, SQLITE_TRANSIENT);
      sqlite3_bind_int64(add_ip, 4, rid);
      Check(sqlite3_step(add_ip), db);
      sqlite3_reset(add_ip);
    } else {
      const auto key = caravan::store::internal::ValueKey(v);
      sqlite3_bind_blob(add_val, 1, key.data(), 8, SQLITE_TRANSIENT);
      sqlite3_bind_int64(add_val, 2, rid);
      Check(sqlite3_step(add_val), db);
      sqlite3_reset(add_val);
    }
    ++in_l0;
    sqlite3_bind_int64(rec, 1, seq);
    sqlite3_bind_int64(rec, 2, rid);
    sqlite3_bind_int64(rec, 3, seq);
    sqlite3_bind_int64(rec, 4, now);
    sqlite3_bind_int64(rec, 5, now);
    sqlite3_bind_blob(rec, 6, body.data(), int(body.size()), SQLITE_STATIC);
    Check(sqlite3_step(rec), db);
    sqlite3_reset(rec);
    if (batch != 0 && ++in_txn == batch) {
      Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
      if (in_l0 >= l0_rows) {
        MergeLevel(db, 0);
        in_l1 += in_l0;
        in_l0 = 0;
        if (in_l1 >= l1_rows) {
          MergeLevel(db, 1);
          in_l1 = 0;
        }
      }
      Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
      in_txn = 0;
    }
    if (step_rows != 0 && (i + 1) % step_rows == 0) {
      const auto now_t = std::chrono::steady_clock::now();
      std::printf(
          "raw_insert step rows=%zu rate=%.0f\n", i + 1,
          double(step_rows) /
              std::chrono::duration<double>(now_t - step_start).count());
      std::fflush(stdout);
      step_start = now_t;
    }
  }
  Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  for (sqlite3_stmt* st : {rec, ind, find_id, id_of, add_id, add_val, add_ip}) {
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
  std::printf("raw_insert rows=%zu batch=%zu seconds=%.3f rate=%.0f\n",
              values.size(), batch, seconds, double(values.size()) / seconds);
  return 0;
}
