#include "daemon/policy/policy_loader.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "daemon/policy/country_codes.h"
#include "daemon/policy/policy_sections.h"
#include "daemon/policy/protected_match.h"
#include "daemon/policy/toml_fields.h"

namespace caravan::policy {
namespace {

using detail::CheckKeys;
using detail::CountryError;
using detail::Errors;
using detail::IsGroupName;
using detail::JoinNames;
using detail::LineOf;
using detail::Quote;
using detail::TableReader;
using detail::Upper;

struct Claim {
  size_t file = 0;  // index into PolicySet::scopes
  int line = 0;
};

// applies_to of scope file `index`: validated, recorded in the claim maps.
void ReadAppliesTo(const toml::table& root, size_t index, bool groups_known,
                   Errors& errors, PolicySet& set,
                   std::map<std::string, Claim>& countries,
                   std::map<std::string, Claim>& groups) {
  PolicyFile& pf = set.scopes[index];
  const std::string_view file = pf.name;
  TableReader r(root, "", file, errors, &pf);
  const toml::node* n = root.get("applies_to");
  if (n == nullptr) {
    errors.Add(file, 1,
               "missing 'applies_to': a scope file names the countries "
               "(\"KZ\") or groups it applies to; settings for everyone else "
               "belong in default.toml");
    return;
  }
  auto list = r.StringArray("applies_to");
  if (!list) return;
  if (list->empty()) {
    errors.Add(file, LineOf(*n), "'applies_to' is empty: the file would apply to nobody");
    return;
  }
  for (const auto& s : *list) {
    if (std::find(pf.applies_to.begin(), pf.applies_to.end(), s.value) !=
        pf.applies_to.end()) {
      errors.Add(file, s.line, Quote(s.value) + " is listed twice in 'applies_to'");
      continue;
    }
    const bool looks_like_country =
        s.value.size() == 2 && s.value[0] >= 'A' && s.value[0] <= 'Z';
    if (looks_like_country || !IsGroupName(s.value)) {
      if (std::string why = CountryError(s.value); !why.empty()) {
        errors.Add(file, s.line, "in 'applies_to': " + why);
        continue;
      }
      auto [it, fresh] = countries.try_emplace(s.value, Claim{index, s.line});
      if (!fresh) {
        errors.Add(file, s.line,
                   s.value + " already has a country file, " +
                       set.scopes[it->second.file].name + " (line " +
                       std::to_string(it->second.line) +
                       "); a country may be named by only one file");
        continue;
      }
    } else {
      if (groups_known && set.groups.find(s.value) == set.groups.end()) {
        std::vector<std::string> known;
        for (const auto& [g, members] : set.groups) known.push_back(g);
        std::string msg = "'applies_to' names unknown group " + Quote(s.value);
        msg += known.empty() ? " (groups.toml defines no groups)"
                             : " (groups.toml defines: " + JoinNames(known) + ")";
        if (IsAssignedCountryCode(Upper(s.value))) {
          msg += "; country codes are upper case: " + Quote(Upper(s.value));
        }
        errors.Add(file, s.line, msg);
        continue;
      }
      auto [it, fresh] = groups.try_emplace(s.value, Claim{index, s.line});
      if (!fresh) {
        errors.Add(file, s.line,
                   "group " + Quote(s.value) + " is already applied by " +
                       set.scopes[it->second.file].name + " (line " +
                       std::to_string(it->second.line) +
                       "); a group may be named by only one file");
        continue;
      }
    }
    pf.applies_to.push_back(s.value);
  }
}

// Builds country_files and group_files. A country that two group files
// claim is ambiguous unless its own file settles it, i.e. has both tables
// (a direction missing from a country file falls through to the group).
void Resolve(const std::map<std::string, Claim>& countries,
             const std::map<std::string, Claim>& groups, Errors& errors,
             PolicySet& set) {
  for (const auto& [country, claim] : countries) {
    set.country_files[country] = claim.file;
  }
  struct GroupClaim {
    size_t file;
    std::string group;
    int line;
  };
  std::map<std::string, std::vector<GroupClaim>> via_groups;
  for (const auto& [group, claim] : groups) {
    auto g = set.groups.find(group);
    if (g == set.groups.end()) continue;
    for (const auto& country : g->second) {
      via_groups[country].push_back({claim.file, group, claim.line});
    }
  }
  for (auto& [country, claims] : via_groups) {
    std::sort(claims.begin(), claims.end(),
              [](const GroupClaim& a, const GroupClaim& b) {
                return std::tie(a.file, a.group) < std::tie(b.file, b.group);
              });
    const GroupClaim& first = claims.front();
    const PolicyFile* own = nullptr;
    if (auto it = set.country_files.find(country); it != set.country_files.end()) {
      own = &set.scopes[it->second];
    }
    bool conflict = false;
    for (const auto& c : claims) {
      if (c.file == first.file) continue;
      conflict = true;
      const std::string both = set.scopes[first.file].name + " (group " +
                               first.group + ") and " + set.scopes[c.file].name +
                               " (group " + c.group + ")";
      if (own == nullptr) {
        errors.Add(set.scopes[c.file].name, c.line,
                   country + " is claimed by two group files: " + both +
                       "; add a country file for " + country +
                       " or take it out of one group");
      } else if (!own->outbound || !own->inbound) {
        errors.Add(own->name, 1,
                   own->name + " has no [" +
                       std::string(own->outbound ? "inbound" : "outbound") +
                       "] table, so for " + country +
                       " it would fall through to a group file, but two "
                       "claim it: " + both + "; add the table");
      }
    }
    if (!conflict) set.group_files[country] = {first.file, first.group};
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// The whole load. `errors` may already hold errors of files that could not
// be read; `unreadable` names them, so they are not also reported missing.
Result<PolicySet> Load(const std::map<std::string, std::string>& files,
                       Errors errors, const std::set<std::string>& unreadable) {
  std::map<std::string, toml::table, std::less<>> parsed;
  size_t count = 0;
  for (const auto& [name, content] : files) {
    if (!EndsWith(name, ".toml")) continue;
    if (++count > kMaxPolicyFiles) {
      errors.Add(name, 1, "too many policy files (at most " +
                              std::to_string(kMaxPolicyFiles) + ")");
      break;
    }
    if (content.size() > kMaxPolicyFileBytes) {
      errors.Add(name, 1, "file is larger than 1 MiB");
      continue;
    }
    try {
      parsed.emplace(name, toml::parse(content, name));
    } catch (const toml::parse_error& e) {
      // toml++ reports syntax errors by exception; this is the one place
      // they become errors of the set.
      errors.Add(name, static_cast<int>(e.source().begin.line),
                 "TOML syntax error: " + std::string(e.description()));
    }
  }

  PolicySet set;
  set.default_file.name = std::string(kDefaultFile);

  // Until groups.toml reads cleanly, "unknown group" would only repeat its
  // errors, so scope files are not checked against the group names.
  bool groups_known = files.count(std::string(kGroupsFile)) == 0;
  if (auto it = parsed.find(kGroupsFile); it != parsed.end()) {
    const size_t before = errors.size();
    ReadGroups(it->second, it->first, errors, set);
    groups_known = errors.size() == before;
  }
  if (auto it = parsed.find(kProtectedFile); it != parsed.end()) {
    ReadProtected(it->second, it->first, errors, set.protected_assets);
    IndexProtectedNetworks(set.protected_assets);
  }
  if (auto it = parsed.find(kDefaultFile); it != parsed.end()) {
    const toml::table& root = it->second;
    if (const toml::node* a = root.get("applies_to")) {
      errors.Add(kDefaultFile, LineOf(*a),
                 "default.toml cannot have 'applies_to': it applies to every "
                 "country no other file names");
    }
    CheckKeys(root, {"outbound", "inbound", "applies_to"},
              "at the top level (expected [outbound] and [inbound])",
              kDefaultFile, errors);
    ReadDirections(root, kDefaultFile, errors, set.default_file);
  } else if (files.count(std::string(kDefaultFile)) == 0 &&
             unreadable.count(std::string(kDefaultFile)) == 0) {
    errors.Add(kDefaultFile, 1,
               "missing: every policy directory needs a default.toml (the "
               "policy for countries no other file names; `caravan init` "
               "writes one)");
  }
  if (!set.default_file.outbound) set.default_file.outbound = OutboundRules{};
  if (!set.default_file.inbound) set.default_file.inbound = InboundRules{};

  std::map<std::string, Claim> country_claims;
  std::map<std::string, Claim> group_claims;
  for (const auto& [name, root] : parsed) {
    if (name == kDefaultFile || name == kProtectedFile || name == kGroupsFile) {
      continue;
    }
    const size_t index = set.scopes.size();
    set.scopes.push_back(PolicyFile{});
    set.scopes.back().name = name;
    CheckKeys(root, {"applies_to", "outbound", "inbound"}, "at the top level",
              name, errors);
    ReadAppliesTo(root, index, groups_known, errors, set, country_claims,
                  group_claims);
    ReadDirections(root, name, errors, set.scopes[index]);
  }
  Resolve(country_claims, group_claims, errors, set);

  if (!errors.empty()) return InvalidInput(errors.Join());
  return set;
}

}  // namespace

Result<PolicySet> LoadPolicyText(
    const std::map<std::string, std::string>& files) {
  return Load(files, Errors(), {});
}

Result<PolicySet> LoadPolicyDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return Unavailable("policy directory " + dir.string() + ": " + ec.message());
  }
  std::map<std::string, std::string> files;
  std::set<std::string> unreadable;
  Errors errors;
  size_t count = 0;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!EndsWith(name, ".toml") || !entry.is_regular_file(ec)) continue;
    if (++count > kMaxPolicyFiles) {
      return InvalidInput(dir.string() + ": more than " +
                          std::to_string(kMaxPolicyFiles) + " *.toml files");
    }
    const auto size = entry.file_size(ec);
    if (ec) {
      errors.Add(name, 1, "cannot read: " + ec.message());
      unreadable.insert(name);
      continue;
    }
    if (size > kMaxPolicyFileBytes) {
      errors.Add(name, 1, "file is larger than 1 MiB");
      unreadable.insert(name);
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) {
      errors.Add(name, 1, "cannot read the file");
      unreadable.insert(name);
      continue;
    }
    files.emplace(name, content.str());
  }
  return Load(files, std::move(errors), unreadable);
}

}  // namespace caravan::policy
