// Warninglist matching throughput on real data (shared/testdata/real):
// ipsum IPv4 addresses against the cidr lists (62,745 public resolvers +
// RFC 1918/5735), malicious domains against the Tranco top 10k hostname
// list, each next to the baseline of one std::unordered_set<std::string>
// lookup per value over the same entries (the cheapest exact-match filter
// there is; it cannot do CIDR containment or hosts of URLs).
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "protocol/formats/warninglist.h"

namespace caravan::protocol {
namespace {

const std::string kReal = std::string(CARAVAN_TESTDATA_DIR) + "/real/";

std::vector<std::string> Lines(const std::string& name, size_t max) {
  std::ifstream in(kReal + name);
  std::vector<std::string> out;
  for (std::string line; out.size() < max && std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Warninglist Load(const std::string& file) {
  auto l = LoadWarninglistFile(kReal + "warninglists/" + file);
  if (!l.ok()) std::abort();
  return *l;
}

void Run(benchmark::State& state, const WarninglistSet& set,
         IndicatorType type, const std::vector<std::string>& values) {
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += set.Match(type, values[i]).has_value();
    if (++i == values.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = benchmark::Counter(
      static_cast<double>(hits) / static_cast<double>(state.iterations()));
}

void RunSet(benchmark::State& state, const std::unordered_set<std::string>& s,
            const std::vector<std::string>& values) {
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += s.count(values[i]);
    if (++i == values.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = benchmark::Counter(
      static_cast<double>(hits) / static_cast<double>(state.iterations()));
}

void BM_CidrLists_Ipv4(benchmark::State& state) {
  static const auto set = WarninglistSet::Build(
      {Load("public-dns-v4.json"), Load("rfc1918.json"), Load("rfc5735.json")});
  static const auto values = Lines("ipv4.txt", 100000);
  Run(state, set, IndicatorType::kIpv4, values);
}
BENCHMARK(BM_CidrLists_Ipv4);

void BM_Baseline_UnorderedSet_Ipv4(benchmark::State& state) {
  static const auto set = [] {
    const auto l = Load("public-dns-v4.json");
    return std::unordered_set<std::string>(l.entries.begin(), l.entries.end());
  }();
  static const auto values = Lines("ipv4.txt", 100000);
  RunSet(state, set, values);
}
BENCHMARK(BM_Baseline_UnorderedSet_Ipv4);

void BM_Hostname_Tranco_Domains(benchmark::State& state) {
  static const auto set = WarninglistSet::Build({Load("tranco10k.json")});
  static const auto values = Lines("domains.txt", 100000);
  Run(state, set, IndicatorType::kDomain, values);
}
BENCHMARK(BM_Hostname_Tranco_Domains);

void BM_Hostname_Tranco_Domains_Subdomain(benchmark::State& state) {
  static const auto set = WarninglistSet::Build({Load("tranco10k.json")},
                                                HostnameMatch::kSubdomain);
  static const auto values = Lines("domains.txt", 100000);
  Run(state, set, IndicatorType::kDomain, values);
}
BENCHMARK(BM_Hostname_Tranco_Domains_Subdomain);

void BM_Baseline_UnorderedSet_Domains(benchmark::State& state) {
  static const auto set = [] {
    const auto l = Load("tranco10k.json");
    return std::unordered_set<std::string>(l.entries.begin(), l.entries.end());
  }();
  static const auto values = Lines("domains.txt", 100000);
  RunSet(state, set, values);
}
BENCHMARK(BM_Baseline_UnorderedSet_Domains);

// All five real lists at once, as a node would run them, on domains.
void BM_AllLists_Domains(benchmark::State& state) {
  static const auto set = [] {
    auto s = LoadWarninglistDir(kReal + "warninglists", HostnameMatch::kExact);
    if (!s.ok()) std::abort();
    return *s;
  }();
  static const auto values = Lines("domains.txt", 100000);
  Run(state, *set, IndicatorType::kDomain, values);
}
BENCHMARK(BM_AllLists_Domains);

}  // namespace
}  // namespace caravan::protocol

BENCHMARK_MAIN();
