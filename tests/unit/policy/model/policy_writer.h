#pragma once
// Writes a model::Policy out as the TOML files the real loader reads, and
// records in the model the line each key landed on (decisions name it).
// Kept apart from the generator so that a shrunk policy is written the same
// way as a generated one.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/policy/model/policy_model.h"

namespace caravan::policy::model {

// How a file's keys are spelled in TOML: (key, value text) in writing
// order, e.g. ("max_tlp", "\"Amber\""). The generator fills these beside
// the semantic fields of Outbound/Protected, and shrinking removes a key
// from both.
struct Spelling {
  // file name -> outbound keys ("share", "max_tlp", ...).
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      outbound;
  std::map<std::string, bool> inbound_table;  // file name -> has [inbound]
  std::vector<std::string> cidrs_text;        // as written in protected.toml
  std::vector<std::string> suffixes_text;
  bool groups_file = false;  // write groups.toml even without groups
};

struct Written {
  Policy policy;
  Spelling spelling;
};

// File name -> content; fills the `lines` maps of `w.policy`.
std::map<std::string, std::string> WriteToml(Written& w);

// Resets one outbound key of `o` to what its absence means.
void ResetOutboundKey(Outbound& o, const std::string& key);

}  // namespace caravan::policy::model
