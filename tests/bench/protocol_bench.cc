// Throughput of parse+normalize per line of the real corpus (items/s), and
// of record body encode/decode. Baselines in the same run: inet_pton over
// the same IPv4 lines, and a plain copy of each line, so the ratio shows
// what normalization costs over merely touching the bytes.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"

namespace caravan::protocol {
namespace {

const std::vector<std::string>& Lines(const std::string& name) {
  static std::map<std::string, std::vector<std::string>>* cache =
      new std::map<std::string, std::vector<std::string>>();
  auto& v = (*cache)[name];
  if (v.empty()) {
    std::ifstream in(std::string(CARAVAN_TESTDATA_DIR) + "/real/" + name);
    std::string line;
    while (std::getline(in, line)) v.push_back(line);
  }
  return v;
}

void BM_Detect(benchmark::State& state, const char* file) {
  const auto& lines = Lines(file);
  if (lines.empty()) {
    state.SkipWithError("test data missing");
    return;
  }
  for (auto _ : state) {
    for (const auto& l : lines) benchmark::DoNotOptimize(DetectAndNormalize(l));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK_CAPTURE(BM_Detect, ipv4, "ipv4.txt")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Detect, domains, "domains.txt")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Detect, urls, "urls.txt")->Unit(benchmark::kMillisecond);

void BM_NormalizeIpv4(benchmark::State& state) {
  const auto& lines = Lines("ipv4.txt");
  for (auto _ : state) {
    for (const auto& l : lines) {
      benchmark::DoNotOptimize(NormalizeValue(IndicatorType::kIpv4, l));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK(BM_NormalizeIpv4)->Unit(benchmark::kMillisecond);

void BM_BaselineInetPton(benchmark::State& state) {
  const auto& lines = Lines("ipv4.txt");
  in_addr a;
  for (auto _ : state) {
    for (const auto& l : lines) benchmark::DoNotOptimize(inet_pton(AF_INET, l.c_str(), &a));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK(BM_BaselineInetPton)->Unit(benchmark::kMillisecond);

void BM_BaselineCopyLines(benchmark::State& state, const char* file) {
  const auto& lines = Lines(file);
  for (auto _ : state) {
    for (const auto& l : lines) {
      std::string copy(l);  // one allocation + memcpy, like a minimal parser
      benchmark::DoNotOptimize(copy.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK_CAPTURE(BM_BaselineCopyLines, ipv4, "ipv4.txt")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BaselineCopyLines, domains, "domains.txt")->Unit(benchmark::kMillisecond);

RecordBody SampleBody() {
  RecordBody b;
  b.origin.fill(7);
  b.origin_seq = 42;
  b.created = 1767323045;
  b.indicator.type = IndicatorType::kUrl;
  b.indicator.value = "http://evil.example/wp-includes/pomo/db.php";
  b.indicator.tags = {"apt", "attack:T1566", "phishing"};
  b.indicator.description = "C2 seen in campaign X";
  return b;
}

void BM_EncodeRecordBody(benchmark::State& state) {
  const RecordBody b = SampleBody();
  for (auto _ : state) benchmark::DoNotOptimize(EncodeRecordBody(b));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeRecordBody);

void BM_DecodeRecordBody(benchmark::State& state) {
  const auto bytes = EncodeRecordBody(SampleBody());
  for (auto _ : state) benchmark::DoNotOptimize(DecodeRecordBody(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeRecordBody);

// Bytes from our own store: the canonical-form checks are not repeated.
void BM_DecodeStoredRecordBody(benchmark::State& state) {
  const auto bytes = EncodeRecordBody(SampleBody());
  for (auto _ : state) benchmark::DoNotOptimize(DecodeStoredRecordBody(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeStoredRecordBody);

void BM_BaselineCopyBody(benchmark::State& state) {
  const auto bytes = EncodeRecordBody(SampleBody());
  for (auto _ : state) {
    std::vector<uint8_t> copy(bytes);
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BaselineCopyBody);

}  // namespace
}  // namespace caravan::protocol
BENCHMARK_MAIN();
