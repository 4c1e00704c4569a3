#pragma once
// The engine side of the differential test (policy_model_test.cc): runs one
// generated case through the real submit parser and policy::DecideShare,
// asks the model (tests/unit/policy/model/) the same question, compares,
// and shrinks a disagreement to a small case worth reading.
//
// This is the only place that touches both the engine and the model.

#include <map>
#include <string>
#include <vector>

#include "daemon/policy/policy.h"
#include "daemon/policy/share_decision.h"
#include "tests/unit/policy/model/model_generator.h"
#include "tests/unit/policy/model/policy_model.h"

namespace caravan::policy::model {

struct Outcome {
  bool accepted = false;  // the submit parser took the value
  std::string normalized;
  std::string parse_error;
  Record read_as;  // the record as the model read it (detected type)
  ShareDecision engine;
  Decision model;
  bool agree = true;
};

// Parses the value, decides with the engine over `set` (loaded from what
// WriteToml made of `p`) and with the model over `p`.
Outcome Judge(const PolicySet& set, const Policy& p, const Case& c);

// Writes, loads and judges; false when the set does not load or the value
// is refused (the case is then no disagreement). With `on_action`, only a
// different action counts.
bool Disagrees(Written w, const Case& c, bool on_action = false);

// "withhold cidrs", "withhold cidrs [ip-embedded]", ...
std::vector<std::string> CoverageKeys(const Policy& p, const Case& c,
                                      const Decision& d);

struct Shrunk {
  Written written;
  Case c;
  int steps = 0;
};

// Drops policy files, keys, protected entries, tags and context, and
// simplifies the value, one at a time, while the disagreement remains.
Shrunk Shrink(const Written& w, const Case& c);

// The files as "--- name" sections.
std::string PolicyText(const std::map<std::string, std::string>& files);

// The policy as TOML, the indicator, the situation and both answers.
std::string Describe(Written w, const Case& c);

}  // namespace caravan::policy::model
