// STIX 2.1 and MISP throughput over real indicators (testdata/real), each
// next to a baseline of nlohmann::json::parse over the same bytes, so the
// cost of mapping and validation is visible apart from JSON parsing.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "protocol/indicator_parse.h"
#include "protocol/formats/misp.h"
#include "protocol/record_codec.h"
#include "protocol/formats/stix.h"

namespace caravan::protocol {
namespace {

constexpr size_t kItems = 10000;

std::vector<ExportItem> RealItems() {
  std::vector<ExportItem> items;
  std::ifstream in(std::string(CARAVAN_TESTDATA_DIR) + "/real/ipv4.txt");
  std::ifstream dom(std::string(CARAVAN_TESTDATA_DIR) + "/real/domains.txt");
  std::string line;
  PublicKey origin{};
  origin.fill(7);
  for (size_t i = 0; items.size() < kItems; ++i) {
    if (!std::getline(i % 2 ? dom : in, line)) break;
    auto parsed = DetectAndNormalize(line);
    if (!parsed.ok()) continue;
    ExportItem it;
    it.body.origin = origin;
    it.body.origin_seq = items.size() + 1;
    it.body.created = 1767225600 + static_cast<int64_t>(i);
    it.body.indicator.type = parsed->type;
    it.body.indicator.value = parsed->value;
    it.body.indicator.tags = {"botnet"};
    it.id = ComputeIndicatorId(origin, parsed->type, parsed->value);
    it.origin_name = "CERT-XX";
    it.origin_country = "XX";
    it.signed_record = EncodeSignedRecord({EncodeRecordBody(it.body), std::array<uint8_t, 64>{}});
    items.push_back(std::move(it));
  }
  return items;
}

const std::vector<ExportItem>& Items() {
  static const auto* items = new std::vector<ExportItem>(RealItems());
  return *items;
}

const std::string& BundleText() {
  static const auto* text = new std::string(StixBundle(Items()).dump());
  return *text;
}

const std::string& MispText() {
  static const auto* text = new std::string(MispEventFor(Items()).dump());
  return *text;
}

void BM_StixExport(benchmark::State& state) {
  for (auto _ : state) {
    std::string text = StixBundle(Items()).dump();
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations() * Items().size());
}
BENCHMARK(BM_StixExport)->Unit(benchmark::kMillisecond);

void BM_StixImport(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ImportStixBundle(BundleText());
    if (!r.ok() || r->items.size() != Items().size()) state.SkipWithError("import failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * Items().size());
  state.SetBytesProcessed(state.iterations() * BundleText().size());
}
BENCHMARK(BM_StixImport)->Unit(benchmark::kMillisecond);

void BM_StixJsonParseBaseline(benchmark::State& state) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(BundleText());
    benchmark::DoNotOptimize(j);
  }
  state.SetItemsProcessed(state.iterations() * Items().size());
  state.SetBytesProcessed(state.iterations() * BundleText().size());
}
BENCHMARK(BM_StixJsonParseBaseline)->Unit(benchmark::kMillisecond);

void BM_StixPattern(benchmark::State& state) {
  const std::string p = "[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'a.example']";
  for (auto _ : state) {
    auto r = ParseStixPattern(p);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StixPattern);

void BM_MispImport(benchmark::State& state) {
  for (auto _ : state) {
    auto r = ImportMispEvent(MispText());
    if (!r.ok() || r->items.size() != Items().size()) state.SkipWithError("import failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * Items().size());
}
BENCHMARK(BM_MispImport)->Unit(benchmark::kMillisecond);

void BM_MispJsonParseBaseline(benchmark::State& state) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(MispText());
    benchmark::DoNotOptimize(j);
  }
  state.SetItemsProcessed(state.iterations() * Items().size());
}
BENCHMARK(BM_MispJsonParseBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace caravan::protocol

BENCHMARK_MAIN();
