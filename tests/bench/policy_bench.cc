// Policy decision cost: one outbound decision per record and peer is on the
// sync path, so it must stay in the microseconds even with a long
// protected.toml.
//
// BM_DecideShare (the sender's whole decision: first send, and an update
// to a holder that becomes a withdrawal) is printed next to its baseline
// from the same run, BM_RawSqliteInsertRecord: one 800-byte signed record
// row inserted into SQLite (WAL, 1000 rows per transaction), the least a
// node pays to store a record it decides about.

#include <benchmark/benchmark.h>

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_loader.h"
#include "daemon/policy/share_decision.h"

namespace caravan::policy {
namespace {

// 30 country files and `n_cidrs` protected /24 networks.
PolicySet MakeSet(int n_cidrs) {
  std::map<std::string, std::string> files;
  files["default.toml"] = "[outbound]\nshare = false\n";
  const char* countries[] = {"KZ", "KG", "TJ", "TM", "UZ", "FR", "DE", "US", "GB", "IT",
                             "ES", "PL", "NL", "BE", "SE", "NO", "FI", "DK", "EE", "LV",
                             "LT", "CZ", "SK", "AT", "CH", "PT", "IE", "GR", "RO", "BG"};
  for (const char* cc : countries) {
    files[std::string(cc) + ".toml"] =
        std::string("applies_to = [\"") + cc +
        "\"]\n[outbound]\nshare = true\nmax_tlp = \"amber\"\nmin_confidence = 40\n"
        "exclude_tags = [\"internal\"]\nembargo = \"1h\"\nmax_per_day = 100000\n";
  }
  std::string cidrs = "cidrs = [";
  for (int i = 0; i < n_cidrs; ++i) {
    cidrs += (i ? ", \"" : "\"") + std::to_string(10 + i / 65536) + "." +
             std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) + ".0/24\"";
  }
  files["protected.toml"] = cidrs + "]\ndomain_suffixes = [\"gov.uz\"]\n";
  auto set = LoadPolicyText(files);
  if (!set.ok()) abort();
  return std::move(set).value();
}

void BM_EvaluateOutbound(benchmark::State& state) {
  const PolicySet set = MakeSet(static_cast<int>(state.range(0)));
  protocol::RecordBody r;
  r.created = 1'700'000'000;
  r.indicator.type = protocol::IndicatorType::kDomain;
  r.indicator.value = "c2.evil.example";
  r.indicator.tlp = protocol::Tlp::kGreen;
  r.indicator.confidence = 80;
  r.indicator.tags = {"phishing"};
  OutboundContext ctx;
  ctx.now = r.created + 7200;
  for (auto _ : state) {
    benchmark::DoNotOptimize(EvaluateOutbound(set, r, "KZ", ctx));
  }
}
BENCHMARK(BM_EvaluateOutbound)->Arg(10)->Arg(1000);

void BM_EvaluateOutboundIp(benchmark::State& state) {
  const PolicySet set = MakeSet(static_cast<int>(state.range(0)));
  protocol::RecordBody r;
  r.created = 1'700'000'000;
  r.indicator.type = protocol::IndicatorType::kIpv4;
  r.indicator.value = "203.0.113.9";
  r.indicator.tlp = protocol::Tlp::kGreen;
  r.indicator.confidence = 80;
  OutboundContext ctx;
  ctx.now = r.created + 7200;
  for (auto _ : state) {
    benchmark::DoNotOptimize(EvaluateOutbound(set, r, "KZ", ctx));
  }
}
BENCHMARK(BM_EvaluateOutboundIp)->Arg(10)->Arg(1000)->Arg(10000);

void BM_DecideShare(benchmark::State& state) {
  const PolicySet set = MakeSet(1000);
  protocol::RecordBody r;
  r.created = 1'700'000'000;
  r.revision = 2;
  r.indicator.type = protocol::IndicatorType::kDomain;
  r.indicator.value = "c2.evil.example";
  r.indicator.tlp = state.range(0) ? protocol::Tlp::kAmberStrict
                                   : protocol::Tlp::kGreen;
  r.indicator.confidence = 80;
  r.indicator.tags = {"phishing"};
  ShareInputs in;
  in.now = r.created + 7200;
  // range(0) == 1: the peer holds revision 1 and the update is above its
  // ceiling, so the answer is a withdrawal (the longest path).
  if (state.range(0)) in.held = HeldRevision{1, 0, false, std::nullopt};
  for (auto _ : state) {
    benchmark::DoNotOptimize(DecideShare(set, r, "KZ", in));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideShare)->ArgName("holder_withdraw")->Arg(0)->Arg(1);

void BM_RawSqliteInsertRecord(benchmark::State& state) {
  char path[] = "/tmp/caravan-policy-bench-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) abort();
  close(fd);
  sqlite3* db = nullptr;
  sqlite3_open(path, &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE records (seq INTEGER PRIMARY KEY, id BLOB NOT "
               "NULL UNIQUE, signed_bytes BLOB NOT NULL)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO records (id, signed_bytes) VALUES (?, ?)",
                     -1, &insert, nullptr);
  std::vector<unsigned char> id(32), bytes(800, 0x5a);
  uint64_t n = 0;
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (auto _ : state) {
    for (int i = 0; i < 8; ++i) id[i] = static_cast<unsigned char>(n >> (8 * i));
    sqlite3_bind_blob(insert, 1, id.data(), 32, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 2, bytes.data(), 800, SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) abort();
    sqlite3_reset(insert);
    if (++n % 1000 == 0) {
      sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr);
    }
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  unlink(path);
  std::string wal = std::string(path) + "-wal", shm = std::string(path) + "-shm";
  unlink(wal.c_str());
  unlink(shm.c_str());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawSqliteInsertRecord);

void BM_LoadPolicySet(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(MakeSet(1000));
}
BENCHMARK(BM_LoadPolicySet);

}  // namespace
}  // namespace caravan::policy

BENCHMARK_MAIN();
