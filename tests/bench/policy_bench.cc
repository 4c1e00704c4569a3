// Policy decision cost: one outbound decision per record and peer is on the
// sync path, so it must stay in the microseconds even with a long
// protected.toml.

#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_loader.h"

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

void BM_LoadPolicySet(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(MakeSet(1000));
}
BENCHMARK(BM_LoadPolicySet);

}  // namespace
}  // namespace caravan::policy

BENCHMARK_MAIN();
