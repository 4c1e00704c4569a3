#pragma once
// Helpers shared by the policy tests: loading in-memory sets and building
// records.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "daemon/policy/policy_loader.h"
#include "protocol/indicator.h"

namespace caravan::policy::testing {

inline constexpr char kDenyDefault[] = "[outbound]\nshare = false\n";

// Loads `files`, adding a deny-all default.toml unless one is given.
inline Result<PolicySet> LoadWith(std::map<std::string, std::string> files) {
  files.try_emplace("default.toml", kDenyDefault);
  return LoadPolicyText(files);
}

inline PolicySet MustLoad(std::map<std::string, std::string> files) {
  auto r = LoadWith(std::move(files));
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return PolicySet{};
  return std::move(r).value();
}

// The error lines of a failed load.
inline std::vector<std::string> ErrorsOf(std::map<std::string, std::string> files) {
  auto r = LoadWith(std::move(files));
  EXPECT_FALSE(r.ok()) << "the set loaded, but errors were expected";
  std::vector<std::string> lines;
  if (r.ok()) return lines;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  const std::string& m = r.status().message();
  size_t start = 0;
  while (start <= m.size()) {
    size_t end = m.find('\n', start);
    if (end == std::string::npos) end = m.size();
    lines.push_back(m.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

inline protocol::RecordBody Record(protocol::IndicatorType type,
                                   std::string value,
                                   protocol::Tlp tlp = protocol::Tlp::kGreen) {
  protocol::RecordBody r;
  r.origin_seq = 1;
  r.created = 1'700'000'000;
  r.indicator.type = type;
  r.indicator.value = std::move(value);
  r.indicator.tlp = tlp;
  r.indicator.confidence = 80;
  r.indicator.reshare = protocol::Reshare::kFederation;
  return r;
}

}  // namespace caravan::policy::testing
