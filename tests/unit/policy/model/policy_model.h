#pragma once
// An independent model of the outbound decision, written from
// docs/policy.md ("Evaluation order", "Updates and holders",
// "protected.toml", "Precedence") and docs/warninglists.md ("What a match
// does"). It shares no code with daemon/policy: the model keeps its own
// plain picture of the policy set (what the generator wrote into the TOML
// files) and reads indicator values with value_model.h.
//
// Plain values only; Decide is pure and thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace caravan::policy::model {

// TLP as docs/policy.md orders it: 0 clear, 1 green, 2 amber,
// 3 amber+strict, 4 red. Reshare: 0 none, 1 direct, 2 federation.
inline constexpr int kRed = 4;
inline constexpr int kFederation = 2;

// The redactable fields, in the order decisions list them.
inline const std::vector<std::string> kRedactFields = {
    "description", "tags", "first_seen", "last_seen", "valid_until"};

// [outbound] of one file; absent keys hold the documented defaults.
struct Outbound {
  bool share = false;
  int max_tlp = 1;                             // green
  std::optional<std::set<std::string>> types;  // type names; nullopt = all
  int min_confidence = 0;
  std::set<std::string> exclude_tags;  // lower case
  std::set<std::string> require_tags;  // lower case
  std::set<std::string> redact;
  int64_t embargo = 0;  // seconds
  int reshare = 0;      // none
  std::optional<uint64_t> max_per_day;
  std::map<std::string, int> lines;  // "outbound.max_tlp" -> line, if written
};

struct File {
  std::string name;
  std::vector<std::string> applies_to;  // empty for default.toml
  std::optional<Outbound> outbound;     // nullopt: the file has no table
};

// protected.toml as written: the model reads the texts itself.
struct Protected {
  std::vector<std::string> cidrs;
  std::vector<std::string> domain_suffixes;
  std::vector<uint32_t> asns;
  std::map<std::string, int> lines;  // "cidrs" -> line
};

struct Policy {
  File default_file;
  std::vector<File> scopes;
  std::map<std::string, std::vector<std::string>> groups;
  std::optional<Protected> protected_assets;
};

// One current revision, as submitted (the raw value, not the parser's).
struct Record {
  std::string type;  // "ipv4", "url", ...
  std::string raw_value;
  int tlp = 1;
  int confidence = 50;
  std::vector<std::string> tags;
  bool has_description = false;
  bool has_first_seen = false;
  bool has_last_seen = false;
  bool has_valid_until = false;
  int reshare = 1;
  bool revoked = false;
  uint32_t revision = 1;
  int64_t created = 0;
};

struct Situation {
  std::string country;
  int64_t now = 0;
  uint64_t sent_today = 0;
  bool relay = false;                      // a third party's record
  std::optional<uint32_t> held;            // revision the peer holds
  uint32_t held_variant = 0;               // and which variant of it
  bool held_withdrawn = false;             // what it holds is our withdrawal
  // What it holds says the same as the record, revoked and reshare aside
  // (false: other content, or not known to the sender).
  bool held_same_content = false;
  // Member trust (docs/federation.md "Leaving", "Compromise").
  bool origin_departed = false;
  std::optional<int64_t> compromised_since;
  std::optional<std::string> warninglist;  // list name, when flagged
};

struct Decision {
  std::string action;  // share, withhold, defer, withdraw, skip
  std::string file;    // "" for built-in rules and the record's own field
  int line = 0;
  std::string key;
  // Other protected.toml rules (key, line) that decide equally well:
  // several assets, or several readings of a URL host matching different
  // ones, or a host that cannot be read.
  std::vector<std::pair<std::string, int>> other_rules;
  int64_t retry_at = 0;             // defer
  std::vector<std::string> redact;  // share
  std::optional<int> reshare;       // share: the ceiling
};

// The file that governs outbound for `country` (docs/policy.md
// "Precedence").
const File& OutboundFile(const Policy& p, const std::string& country);

// The protected.toml rules (key, line) the value touches, in the docs'
// order; a URL host or e-mail domain that cannot be read counts as
// `domain_suffixes` (or `cidrs` when no domains are listed) at line 0,
// when protected.toml lists any networks or domains.
std::vector<std::pair<std::string, int>> ProtectedRules(const Policy& p,
                                                        const Record& r);

Decision Decide(const Policy& p, const Record& r, const Situation& s);

}  // namespace caravan::policy::model
