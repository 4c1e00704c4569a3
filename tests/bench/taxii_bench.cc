// taxii_bench: the TAXII server's reads (issue 19) on a store of
// CARAVAN_BENCH_ROWS indicators (default 100000), one signed record each,
// served straight through TaxiiHandler::Handle (no sockets):
//
//   BM_TaxiiObjectById     GET .../objects/ID/ of a random indicator;
//                          counters p50_us and p99_us over the run
//   BM_RawSqlitePointLookup  baseline: the record bytes of a random id with
//                          one prepared SQLite statement on the same file
//   BM_TaxiiPaging         every object of the collection in pages of
//                          limit=1000 following `next`; objects/s
//   BM_StoreQueryPaging    baseline: every current row through
//                          Reader::Query pages of 1000 formatted as CSV
//                          lines (what `caravan export --format csv` reads)
//
// Latency percentiles are measured here, not asserted anywhere.

#include <benchmark/benchmark.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "daemon/feeds/taxii_handler.h"
#include "daemon/store/store.h"
#include "protocol/formats/stix.h"
#include "protocol/record_codec.h"

namespace caravan::feeds {
namespace {

using protocol::IndicatorType;

struct World {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<TaxiiHandler> handler;
  std::vector<protocol::IndicatorId> ids;
  std::string all_objects;  // /api/collections/<all>/objects/
  uint64_t rows = 0;
};

store::RecordRow MakeRow(uint64_t n) {
  store::RecordRow r;
  r.body.origin.fill(7);
  r.body.origin_seq = n + 1;
  r.body.created = 1'700'000'000 + static_cast<int64_t>(n / 10);
  r.body.created_millis = static_cast<uint16_t>(n % 1000);
  r.body.indicator.type = IndicatorType::kDomain;
  r.body.indicator.value = "host" + std::to_string(n) + ".example.org";
  r.body.indicator.confidence = 80;
  r.body.indicator.tags = {n % 3 ? "phishing" : "c2"};
  r.id = protocol::ComputeIndicatorId(r.body.origin, r.body.indicator.type,
                                      r.body.indicator.value);
  // The signature is not checked on this path; its bytes are realistic.
  r.signed_bytes = protocol::EncodeSignedRecord(
      {protocol::EncodeRecordBody(r.body), std::array<uint8_t, 64>{}});
  r.origin_country = "UZ";
  r.origin_name = "UZ-CERT";
  return r;
}

World& TheWorld() {
  static World* w = [] {
    auto* world = new World;
    const char* env = std::getenv("CARAVAN_BENCH_ROWS");
    world->rows = env ? std::strtoull(env, nullptr, 10) : 100000;
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "caravan-taxii-bench-XXXXXX")
            .string();
    if (!mkdtemp(tmpl.data())) std::abort();
    world->dir = tmpl;
    store::StoreOptions options;
    options.sync = store::StoreOptions::Sync::kNormal;
    auto opened = store::Store::Open((world->dir / "caravan.db").string(),
                                     options);
    if (!opened.ok()) std::abort();
    world->store = std::move(*opened);
    const auto start = std::chrono::steady_clock::now();
    constexpr uint64_t kChunk = 5000;
    for (uint64_t base = 0; base < world->rows; base += kChunk) {
      const uint64_t end = std::min(world->rows, base + kChunk);
      std::vector<store::RecordRow> rows;
      for (uint64_t n = base; n < end; ++n) rows.push_back(MakeRow(n));
      for (const auto& r : rows) world->ids.push_back(r.id);
      Status s = world->store
                     ->Write([&rows](store::WriteTxn& t) {
                       for (const auto& r : rows) {
                         CARAVAN_RETURN_IF_ERROR(t.InsertRecord(r).status());
                       }
                       return Status::Ok();
                     })
                     .get();
      if (!s.ok()) {
        std::fprintf(stderr, "build: %s\n", s.ToString().c_str());
        std::abort();
      }
    }
    std::fprintf(stderr, "built %llu indicators in %.1f s\n",
                 static_cast<unsigned long long>(world->rows),
                 std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count());
    auto accounts = TaxiiAccounts::Parse("");
    if (!accounts.ok()) std::abort();
    world->handler = std::make_unique<TaxiiHandler>(
        *world->store, std::move(*accounts), SubmitFn(), TaxiiOptions{});
    world->all_objects =
        "/api/collections/" +
        protocol::DerivedUuid("caravan taxii collection",
                              std::span(reinterpret_cast<const uint8_t*>("all"),
                                        3)) +
        "/objects/";
    return world;
  }();
  return *w;
}

const TaxiiAccount kReader{"bench", "", {"received", "own", "all"},
                           protocol::Tlp::kRed, false};

HttpResponse Get(World& w, const std::string& target) {
  HttpRequest req(http::verb::get, target, 11);
  req.set(http::field::accept, kTaxiiMediaType);
  return w.handler->Handle(req, kReader);
}

void Percentiles(benchmark::State& state, std::vector<double>& micros) {
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[std::min(micros.size() - 1,
                                             micros.size() * 99 / 100)];
  state.counters["rows"] = static_cast<double>(TheWorld().rows);
}

void BM_TaxiiObjectById(benchmark::State& state) {
  World& w = TheWorld();
  Get(w, w.all_objects + "?limit=1");  // builds the date index once
  std::mt19937_64 rng(42);
  std::vector<double> micros;
  for (auto _ : state) {
    const auto& id = w.ids[rng() % w.ids.size()];
    const std::string target =
        w.all_objects + "indicator--" + protocol::UuidFromDigest(id) + "/";
    const auto t0 = std::chrono::steady_clock::now();
    HttpResponse res = Get(w, target);
    micros.push_back(std::chrono::duration<double, std::micro>(
                         std::chrono::steady_clock::now() - t0)
                         .count());
    if (res.result_int() != 200) {
      state.SkipWithError(("lookup answered " +
                           std::to_string(res.result_int()) + ": " + res.body())
                              .c_str());
      break;
    }
  }
  Percentiles(state, micros);
}
BENCHMARK(BM_TaxiiObjectById)->Iterations(2000)->Unit(benchmark::kMicrosecond);

void BM_RawSqlitePointLookup(benchmark::State& state) {
  World& w = TheWorld();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((w.dir / "caravan.db").c_str(), &db,
                      SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    state.SkipWithError("open");
    return;
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT r.body FROM records r JOIN indicators i ON "
                     "i.rid = r.rid WHERE i.id = ? ORDER BY r.revision",
                     -1, &st, nullptr);
  std::mt19937_64 rng(42);
  std::vector<double> micros;
  size_t bytes = 0;
  for (auto _ : state) {
    const auto& id = w.ids[rng() % w.ids.size()];
    const auto t0 = std::chrono::steady_clock::now();
    sqlite3_bind_blob(st, 1, id.data(), static_cast<int>(id.size()),
                      SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) bytes += sqlite3_column_bytes(st, 0);
    sqlite3_reset(st);
    micros.push_back(std::chrono::duration<double, std::micro>(
                         std::chrono::steady_clock::now() - t0)
                         .count());
  }
  benchmark::DoNotOptimize(bytes);
  sqlite3_finalize(st);
  sqlite3_close(db);
  Percentiles(state, micros);
}
BENCHMARK(BM_RawSqlitePointLookup)
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);

void BM_TaxiiPaging(benchmark::State& state) {
  World& w = TheWorld();
  uint64_t objects = 0;
  for (auto _ : state) {
    std::string target = w.all_objects + "?limit=1000";
    for (;;) {
      HttpResponse res = Get(w, target);
      if (res.result_int() != 200) {
        state.SkipWithError("page failed");
        return;
      }
      auto doc = nlohmann::json::parse(res.body());
      if (doc.contains("objects")) objects += doc["objects"].size();
      if (!doc["more"].get<bool>()) break;
      target = w.all_objects + "?next=" + doc["next"].get<std::string>();
    }
  }
  state.counters["objects_per_s"] = benchmark::Counter(
      static_cast<double>(objects), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TaxiiPaging)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_StoreQueryPaging(benchmark::State& state) {
  World& w = TheWorld();
  auto reader = w.store->OpenReader();
  if (!reader.ok()) {
    state.SkipWithError("reader");
    return;
  }
  uint64_t objects = 0;
  size_t csv_bytes = 0;
  for (auto _ : state) {
    store::QueryFilter filter;
    filter.limit = 1000;
    for (;;) {
      auto page = (*reader)->Query(filter);
      if (!page.ok()) {
        state.SkipWithError("query failed");
        return;
      }
      for (const auto& row : page->rows) {
        std::string line =
            std::string(protocol::TypeName(row.indicator.type)) + "," +
            row.indicator.value + "," +
            std::string(protocol::TlpName(row.indicator.tlp)) + "," +
            std::to_string(row.indicator.confidence) + "," +
            row.origin_country + "," + protocol::IdToHex(row.id) + "\n";
        csv_bytes += line.size();
        ++objects;
      }
      if (page->next_after == 0) break;
      filter.after = page->next_after;
    }
  }
  benchmark::DoNotOptimize(csv_bytes);
  state.counters["objects_per_s"] = benchmark::Counter(
      static_cast<double>(objects), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StoreQueryPaging)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace caravan::feeds

BENCHMARK_MAIN();
