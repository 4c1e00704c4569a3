// Differential property test (issue 13): the engine's outbound decision
// (policy::DecideShare over a set loaded by the real loader, values parsed
// by the real submit parser) against an independent model written from the
// docs (tests/unit/policy/model/). Random policy sets x random indicators
// with tricky values; on a disagreement the case is shrunk and printed with
// both answers.
//
// CARAVAN_POLICY_MODEL_SEED=<n> and CARAVAN_POLICY_MODEL_CASES=<n> override
// the fixed CI seed and case count; CARAVAN_POLICY_MODEL_SKIP=<family,...>
// leaves value families out (scripts/property runs long random seeds).

#include "tests/unit/policy/model/policy_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "daemon/policy/policy_loader.h"
#include "daemon/policy/share_decision.h"
#include "protocol/indicator_parse.h"
#include "tests/unit/policy/model/model_generator.h"
#include "tests/unit/policy/policy_model_harness.h"

namespace caravan::policy::model {
namespace {

constexpr uint64_t kCiSeed = 20261205;
constexpr int kCiCases = 24000;
constexpr int kCasesPerSet = 100;

// Families the engine does not read yet, left out unless
// `CARAVAN_POLICY_MODEL_SKIP=` (empty) asks for all. Empty since the engine
// reads embedded IPv4 and browser URL hosts (issue 13 findings 4 and 5).
const std::set<std::string> kFamiliesAwaitingEngine = {};

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::set<std::string> EnabledFamilies() {
  std::set<std::string> skip = kFamiliesAwaitingEngine;
  if (const char* v = std::getenv("CARAVAN_POLICY_MODEL_SKIP")) {
    skip.clear();
    std::stringstream s(v);
    std::string f;
    while (std::getline(s, f, ',')) {
      if (!f.empty()) skip.insert(f);
    }
  }
  std::set<std::string> on;
  for (const auto& f : AllFamilies()) {
    if (!skip.count(f)) on.insert(f);
  }
  return on;
}

TEST(PolicyModel, EngineAgreesWithIndependentModel) {
  const uint64_t seed = EnvNumber("CARAVAN_POLICY_MODEL_SEED", kCiSeed);
  const uint64_t cases = EnvNumber("CARAVAN_POLICY_MODEL_CASES", kCiCases);
  const std::set<std::string> families = EnabledFamilies();
  std::cout << "policy model seed " << seed << ", " << cases
            << " cases, families:";
  for (const auto& f : families) std::cout << " " << f;
  std::cout << "\n(replay: CARAVAN_POLICY_MODEL_SEED=" << seed
            << " CARAVAN_POLICY_MODEL_CASES=" << cases << ")\n";

  const auto start = std::chrono::steady_clock::now();
  Generator gen(seed, families);
  std::map<std::string, uint64_t> seen;     // coverage: action, key, family
  std::map<std::string, uint64_t> refused;  // per family, by the parser
  uint64_t decided = 0;
  const uint64_t max_failures =
      EnvNumber("CARAVAN_POLICY_MODEL_MAX_FAILURES", 3);
  uint64_t failures = 0;
  for (uint64_t n = 0; n < cases && failures < max_failures;) {
    Written w = gen.PolicySet();
    const auto texts = WriteToml(w);
    auto loaded = LoadPolicyText(texts);
    ASSERT_TRUE(loaded.ok())
        << "seed " << seed << ": a valid set did not load:\n"
        << loaded.status().message() << "\n"
        << PolicyText(texts);
    const int64_t now = 1'700'000'000 + gen.Int(0, 86400 * 3);
    for (int i = 0; i < kCasesPerSet && n < cases && failures < max_failures;
         ++i, ++n) {
      const Case c = gen.Indicator(now);
      const Outcome o = Judge(*loaded, w.policy, c);
      if (!o.accepted) {
        ++refused[c.family];
        continue;
      }
      ++decided;
      Case read = c;
      read.record = o.read_as;
      for (const std::string& k : CoverageKeys(w.policy, read, o.model))
        ++seen[k];
      if (o.agree) continue;
      ++failures;
      // CARAVAN_POLICY_MODEL_SHRINK=0 prints the case as generated.
      const Shrunk s = EnvNumber("CARAVAN_POLICY_MODEL_SHRINK", 1)
                           ? Shrink(w, c)
                           : Shrunk{w, c, 0};
      ADD_FAILURE() << "seed " << seed << " case " << n
                    << ": the engine and the model disagree\n"
                    << "replay: CARAVAN_POLICY_MODEL_SEED=" << seed
                    << " CARAVAN_POLICY_MODEL_CASES=" << n + 1 << "\n"
                    << "minimized case (" << s.steps << " shrink steps):\n"
                    << Describe(s.written, s.c);
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::cout << decided << " decided, ";
  uint64_t total_refused = 0;
  for (const auto& [f, k] : refused) total_refused += k;
  std::cout << total_refused << " refused by the parser (";
  for (const auto& [f, k] : refused) std::cout << f << " " << k << " ";
  std::cout << ") in " << secs << " s\n";

  // Agreement means little unless the generator reaches every rule, and
  // the tricky readings actually decide.
  if (failures > 0 || cases < static_cast<uint64_t>(kCiCases)) return;
  std::vector<std::string> required = {
      "share outbound.share",
      "share revocation",
      "withhold revocation",
      "withhold cidrs",
      "withhold domain_suffixes",
      "withhold asns",
      "withhold tlp_red",
      "withhold warninglist",
      "withhold outbound.share",
      "withhold outbound.max_tlp",
      "withhold outbound.types",
      "withhold outbound.min_confidence",
      "withhold outbound.exclude_tags",
      "withhold outbound.require_tags",
      "withhold record.reshare",
      "withhold outbound.reshare",
      "withhold outbound.redact",
      "defer outbound.embargo",
      "defer outbound.max_per_day",
      "withdraw cidrs",
      "withdraw domain_suffixes",
      "withdraw tlp_red",
      "withdraw outbound.max_tlp",
      "skip delivered",
      "skip after a withdrawal",
      "withhold domain_suffixes [domain-idn]",
      "withhold domain_suffixes [email]",
  };
  for (const auto& [family, key] :
       std::vector<std::pair<std::string, std::string>>{
           {"ip-embedded", "withhold cidrs [ip-embedded]"},
           {"ip-embedded", "share outbound.share [ip-embedded]"},
           {"url-userinfo", "withhold domain_suffixes [user info]"},
           {"url-backslash", "withhold domain_suffixes [url-backslash]"},
           {"numeric-host", "withhold cidrs [numeric-host]"},
           {"url-v6", "withhold cidrs [url-v6]"},
           {"protected-v6", "withhold cidrs [protected-v6]"}}) {
    if (families.count(family)) required.push_back(key);
  }
  for (const auto& key : required) {
    EXPECT_GT(seen[key], 0u)
        << "never reached: " << key << " (seed " << seed << ")";
  }
}

}  // namespace
}  // namespace caravan::policy::model
