// store_bench: what group commit costs and buys, and query latency.
//
//   BM_StoreWrite/batch/sync      one Store::Write inserting `batch` records
//   BM_StoreWriteConcurrent/sync  1000 single-record Writes in flight at once
//   BM_RawSqlite/batch/sync       baseline: the same rows (records +
//                                 indicators + tags, same schema and
//                                 indexes) inserted with raw prepared
//                                 statements, one transaction per batch
//   BM_QueryExact, BM_QueryCovering, BM_QueryWithin: latency on a store of
//     CARAVAN_BENCH_ROWS rows (default 200000), a quarter of them IPv4.
//
// sync: 0 = synchronous=NORMAL, 1 = FULL (the default of the store).

#include <benchmark/benchmark.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "daemon/store/index_levels.h"
#include "daemon/store/store.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "caravan-bench-XXXXXX")
            .string();
    if (!mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const char* name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Distinct values for distinct n, all in and around 10.0.0.0/8 so that
// addresses fall inside the stored /24 and /16 networks (what a containment
// query is for): 1 in 8 is a /24, 1 in 64 a /16, the rest addresses.
std::string IpFor(uint64_t n) {
  uint32_t ip;
  int prefix = 32;
  if (n % 8 == 0) {
    ip = 0x0A000000u + static_cast<uint32_t>(n / 8) * 256u;
    prefix = 24;
  } else if (n % 64 == 1) {
    ip = 0x0A000000u + static_cast<uint32_t>(n / 64) * 65536u;
    prefix = 16;
  } else {
    ip = 0x0A000000u + static_cast<uint32_t>(n) * 37u;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
                (ip >> 8) & 255, ip & 255);
  std::string out = buf;
  if (prefix != 32) out += "/" + std::to_string(prefix);
  return out;
}

RecordRow MakeRow(uint64_t n) {
  RecordRow r;
  r.body.origin.fill(7);
  r.body.origin_seq = n + 1;
  r.body.created = 1'700'000'000 + static_cast<int64_t>(n);
  const bool ip = n % 4 == 0;
  r.body.indicator.type = ip ? IndicatorType::kIpv4 : IndicatorType::kDomain;
  r.body.indicator.value =
      ip ? IpFor(n / 4) : "host" + std::to_string(n) + ".example";
  r.body.indicator.tags = {n % 3 ? "phishing" : "c2"};
  r.body.indicator.description = "benchmark indicator";
  crypto_generichash(r.id.data(), r.id.size(),
                     reinterpret_cast<const unsigned char*>(
                         r.body.indicator.value.data()),
                     r.body.indicator.value.size(), nullptr, 0);
  r.id[0] ^= static_cast<uint8_t>(r.body.indicator.type);
  r.signed_bytes.assign(220, static_cast<uint8_t>(n));  // a typical record
  r.origin_country = "UZ";
  r.origin_name = "UZ-CERT";
  return r;
}

std::atomic<uint64_t> g_next{0};  // unique rows across iterations

StoreOptions Options(int64_t sync) {
  StoreOptions o;
  o.sync = sync ? StoreOptions::Sync::kFull : StoreOptions::Sync::kNormal;
  return o;
}

std::unique_ptr<Store> MustOpen(const std::string& path, StoreOptions o) {
  auto s = Store::Open(path, std::move(o));
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    std::abort();
  }
  return std::move(s).value();
}

void BM_StoreWrite(benchmark::State& state) {
  TempDir dir;
  auto store = MustOpen(dir.File("s.db"), Options(state.range(1)));
  const int64_t batch = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<RecordRow> rows;
    for (int64_t i = 0; i < batch; ++i) rows.push_back(MakeRow(g_next++));
    state.ResumeTiming();
    Status s = store
                   ->Write([&rows](WriteTxn& t) {
                     for (const RecordRow& r : rows) {
                       CARAVAN_RETURN_IF_ERROR(t.InsertRecord(r).status());
                     }
                     return Status::Ok();
                   })
                   .get();
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_StoreWrite)
    ->ArgsProduct({{1, 100, 1000}, {0, 1}})
    ->ArgNames({"batch", "full"})
    ->UseRealTime();

void BM_StoreWriteConcurrent(benchmark::State& state) {
  TempDir dir;
  auto store = MustOpen(dir.File("s.db"), Options(state.range(0)));
  constexpr int kInFlight = 1000;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<RecordRow> rows;
    for (int i = 0; i < kInFlight; ++i) rows.push_back(MakeRow(g_next++));
    state.ResumeTiming();
    std::vector<std::future<Status>> fs;
    fs.reserve(kInFlight);
    for (const RecordRow& r : rows) {
      fs.push_back(store->Write(
          [&r](WriteTxn& t) { return t.InsertRecord(r).status(); }));
    }
    for (auto& f : fs) {
      if (!f.get().ok()) state.SkipWithError("write failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * kInFlight);
}
BENCHMARK(BM_StoreWriteConcurrent)->Arg(0)->Arg(1)->ArgName("full")->UseRealTime();

void Check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "raw sqlite: %s\n", sqlite3_errmsg(db));
    std::abort();  // a broken baseline must not produce numbers
  }
}

// Baseline: the same three inserts per record the store does, without the
// store's checks (duplicate lookup, current-revision read, savepoints,
// queue and thread hand-off).
void BM_RawSqlite(benchmark::State& state) {
  TempDir dir;
  const std::string path = dir.File("raw.db");
  MustOpen(path, Options(state.range(1))).reset();  // same schema, indexes
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               state.range(1) ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
  sqlite3_stmt *rec = nullptr, *ind = nullptr, *tag = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO records (seq, rid, revision, variant, "
                     "origin_seq, created, received_from, stored_at, body) "
                     "VALUES (?, ?, 1, 0, ?, ?, NULL, 1, ?)",
                     -1, &rec, nullptr);
  sqlite3_prepare_v2(
      db,
      "INSERT INTO indicators (id, type, value, origin, origin_country, "
      "origin_name, revision, variant, record_seq, tlp, confidence, "
      "description, created, valid_until, first_seen, last_seen, reshare, "
      "revoked, revoke_reason, received_from, quarantined, warning, "
      "stored_at) VALUES (?, ?, ?, ?, 'UZ', 'UZ-CERT', 1, 0, ?, 2, 50, "
      "'benchmark indicator', ?, 0, 0, 0, 1, 0, '', NULL, 0, 0, 1)",
      -1, &ind, nullptr);
  // The keys the store finds a row by (daemon/store/index_levels.h), at
  // level 0; this benchmark's rows never reach a merge.
  sqlite3_stmt *id_key = nullptr, *value_key = nullptr, *ip_key = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO id_keys_0 VALUES (substr(?, 1, 8), ?)",
                     -1, &id_key, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO value_keys_0 VALUES (?, ?)", -1,
                     &value_key, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO ip_keys_0 VALUES (?, ?, ?, ?)", -1,
                     &ip_key, nullptr);
  int64_t raw_seq = 1;  // the log entries this run appends
  sqlite3_prepare_v2(db, "INSERT INTO indicator_tags (rid, tag) VALUES (?, ?)",
                     -1, &tag, nullptr);
  const int64_t batch = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<RecordRow> rows;
    for (int64_t i = 0; i < batch; ++i) rows.push_back(MakeRow(g_next++));
    state.ResumeTiming();
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (const RecordRow& r : rows) {
      // The indicator's row first, naming the log entry its record gets
      // (what the store does); the record names the indicator's rowid.
      const int64_t seq = raw_seq++;
      const std::string& v = r.body.indicator.value;
      sqlite3_bind_blob(ind, 1, r.id.data(), 32, SQLITE_STATIC);
      sqlite3_bind_int(ind, 2, static_cast<int>(r.body.indicator.type));
      sqlite3_bind_text(ind, 3, v.data(), static_cast<int>(v.size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(ind, 4, r.body.origin.data(), 32, SQLITE_STATIC);
      sqlite3_bind_int64(ind, 5, seq);
      sqlite3_bind_int64(ind, 6, r.body.created);
      Check(sqlite3_step(ind), db);
      sqlite3_reset(ind);
      const int64_t rid = sqlite3_last_insert_rowid(db);
      sqlite3_bind_blob(id_key, 1, r.id.data(), 32, SQLITE_STATIC);
      sqlite3_bind_int64(id_key, 2, rid);
      Check(sqlite3_step(id_key), db);
      sqlite3_reset(id_key);
      if (auto net = protocol::ParseIpNetwork(v)) {
        const std::array<uint8_t, 16> first = net->First();
        sqlite3_bind_int(ip_key, 1, net->is_v6 ? 6 : 4);
        sqlite3_bind_int(ip_key, 2, net->prefix);
        sqlite3_bind_blob(ip_key, 3, first.data(), 16, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ip_key, 4, rid);
        Check(sqlite3_step(ip_key), db);
        sqlite3_reset(ip_key);
      } else {
        const auto key = internal::ValueKey(v);
        sqlite3_bind_blob(value_key, 1, key.data(), 8, SQLITE_TRANSIENT);
        sqlite3_bind_int64(value_key, 2, rid);
        Check(sqlite3_step(value_key), db);
        sqlite3_reset(value_key);
      }
      sqlite3_bind_int64(rec, 1, seq);
      sqlite3_bind_int64(rec, 2, rid);
      sqlite3_bind_int64(rec, 3, static_cast<int64_t>(r.body.origin_seq));
      sqlite3_bind_int64(rec, 4, r.body.created);
      sqlite3_bind_blob(rec, 5, r.signed_bytes.data(),
                        static_cast<int>(r.signed_bytes.size()), SQLITE_STATIC);
      Check(sqlite3_step(rec), db);
      sqlite3_reset(rec);
      sqlite3_bind_int64(tag, 1, rid);
      const std::string& t = r.body.indicator.tags[0];
      sqlite3_bind_text(tag, 2, t.data(), static_cast<int>(t.size()),
                        SQLITE_STATIC);
      Check(sqlite3_step(tag), db);
      sqlite3_reset(tag);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
  }
  for (sqlite3_stmt* st : {rec, ind, tag, id_key, value_key, ip_key}) {
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_RawSqlite)
    ->ArgsProduct({{1, 100, 1000}, {0, 1}})
    ->ArgNames({"batch", "full"})
    ->UseRealTime();

// One large store shared by the query benchmarks, built on first use.
struct BigStore {
  TempDir dir;
  std::unique_ptr<Store> store;
  uint64_t rows = 0;
  double build_seconds = 0;
};

BigStore& Big() {
  static BigStore* big = [] {
    auto* b = new BigStore;
    const char* env = std::getenv("CARAVAN_BENCH_ROWS");
    b->rows = env ? std::strtoull(env, nullptr, 10) : 200000;
    b->store = MustOpen(b->dir.File("big.db"), Options(0));
    const auto start = std::chrono::steady_clock::now();
    constexpr uint64_t kChunk = 5000;
    for (uint64_t base = 0; base < b->rows; base += kChunk) {
      const uint64_t end = std::min(b->rows, base + kChunk);
      Status s = b->store
                     ->Write([base, end](WriteTxn& t) {
                       for (uint64_t n = base; n < end; ++n) {
                         // Offset keeps these apart from the write benches.
                         CARAVAN_RETURN_IF_ERROR(
                             t.InsertRecord(MakeRow((1ull << 40) + n))
                                 .status());
                       }
                       return Status::Ok();
                     })
                     .get();
      if (!s.ok()) {
        std::fprintf(stderr, "build: %s\n", s.ToString().c_str());
        std::abort();
      }
    }
    b->build_seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    std::fprintf(stderr, "built %llu rows in %.1f s (%.0f rows/s)\n",
                 static_cast<unsigned long long>(b->rows), b->build_seconds,
                 b->rows / b->build_seconds);
    return b;
  }();
  return *big;
}

void BM_QueryExact(benchmark::State& state) {
  BigStore& big = Big();
  auto reader = big.store->OpenReader();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    const uint64_t n = rng() % big.rows;
    QueryFilter f;
    f.value = MakeRow((1ull << 40) + n).body.indicator.value;
    Result<QueryPage> page = (*reader)->Query(f);
    if (!page.ok() || page->rows.empty()) state.SkipWithError("not found");
  }
  state.counters["rows"] = static_cast<double>(big.rows);
}
BENCHMARK(BM_QueryExact);

void BM_QueryCovering(benchmark::State& state) {
  BigStore& big = Big();
  auto reader = big.store->OpenReader();
  std::mt19937_64 rng(2);
  uint64_t found = 0;
  for (auto _ : state) {
    QueryFilter f;
    // An address inside some stored network or equal to a stored address.
    std::string v = MakeRow((1ull << 40) + (rng() % big.rows) / 4 * 4)
                        .body.indicator.value;
    auto net = protocol::ParseIpNetwork(v);
    f.covering = *net;
    f.covering->prefix = 32;  // the network's first address
    Result<QueryPage> page = (*reader)->Query(f);
    if (!page.ok()) state.SkipWithError(page.status().ToString().c_str());
    else found += page->rows.size();
  }
  state.counters["found_per_query"] =
      benchmark::Counter(static_cast<double>(found),
                         benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_QueryCovering);

void BM_QueryWithin(benchmark::State& state) {
  BigStore& big = Big();
  auto reader = big.store->OpenReader();
  std::mt19937_64 rng(3);
  uint64_t found = 0;
  for (auto _ : state) {
    QueryFilter f;
    std::string v = MakeRow((1ull << 40) + (rng() % big.rows) / 4 * 4)
                        .body.indicator.value;
    auto net = protocol::ParseIpNetwork(v);
    f.within = *net;
    f.within->prefix = 16;  // everything in the surrounding /16
    for (int i = 2; i < 16; ++i) f.within->bytes[i] = 0;
    Result<QueryPage> page = (*reader)->Query(f);
    if (!page.ok()) state.SkipWithError(page.status().ToString().c_str());
    else found += page->rows.size();
  }
  state.counters["found_per_query"] =
      benchmark::Counter(static_cast<double>(found),
                         benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_QueryWithin);

}  // namespace
}  // namespace caravan::store

BENCHMARK_MAIN();
