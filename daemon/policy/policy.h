#pragma once
// The in-memory policy set: what policies/*.toml say once loaded and
// validated (see policy_loader.h for loading, policy_eval.h for decisions,
// docs/policy.md for the language).
//
// A PolicySet is a plain value built only by the loader, which guarantees
// every invariant written on the fields below. It never changes after
// loading: a reload builds a new set and the daemon swaps it whole, so
// sharing one `const PolicySet` between threads is safe.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/ip_network.h"

namespace caravan::policy {

// Hard limits on what the loader reads (the files are operator input, but
// a runaway generator script should get an error, not an OOM).
inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;  // per file
inline constexpr size_t kMaxPolicyFiles = 1024;         // *.toml in the dir
inline constexpr int64_t kMaxPolicyDurationSeconds = 36500LL * 86400;  // 100y

inline constexpr std::string_view kDefaultFile = "default.toml";
inline constexpr std::string_view kProtectedFile = "protected.toml";
inline constexpr std::string_view kGroupsFile = "groups.toml";

// One flag per protocol::IndicatorType, indexed by its numeric code.
using TypeSet = std::array<bool, protocol::kIndicatorTypeCount>;
inline constexpr TypeSet kAllTypes = {true, true, true, true, true,
                                      true, true, true, true, true};

// Fields of an indicator that outbound `redact` may remove. Ordered as the
// canonical listing order of decisions.
enum class RedactField : uint8_t {
  kDescription = 0,
  kTags,
  kFirstSeen,
  kLastSeen,
  kValidUntil,
};
inline constexpr int kRedactFieldCount = 5;
std::string_view RedactFieldName(RedactField field);
std::optional<RedactField> ParseRedactField(std::string_view name);

// [outbound]: what we send to a scope. Defaults are what an absent key
// means (docs/policy.md): deny, and narrow when sharing is switched on.
struct OutboundRules {
  bool share = false;
  protocol::Tlp max_tlp = protocol::Tlp::kGreen;  // never kRed
  TypeSet types = kAllTypes;                      // at least one true
  uint8_t min_confidence = 0;                     // 0..100
  std::vector<std::string> exclude_tags;          // lowercase, unique
  std::vector<std::string> require_tags;          // lowercase; ALL needed
  std::vector<RedactField> redact;                // sorted, unique
  int64_t embargo = 0;                            // seconds, >= 0
  protocol::Reshare reshare = protocol::Reshare::kNone;
  std::optional<uint64_t> max_per_day;  // nullopt: unlimited; else >= 1

  bool operator==(const OutboundRules&) const = default;
};

// [inbound]: what we accept from a scope.
struct InboundRules {
  bool accept = true;
  protocol::Tlp max_tlp = protocol::Tlp::kRed;
  TypeSet types = kAllTypes;  // at least one true
  uint8_t min_confidence = 0;
  std::optional<int64_t> retention;  // seconds, > 0; nullopt: keep
  bool quarantine = false;
  bool accept_relayed = true;

  bool operator==(const InboundRules&) const = default;
};

// One loaded file: default.toml or a scope file.
struct PolicyFile {
  std::string name;  // file name relative to the policy dir, "kz.toml"
  // Country codes (assigned ISO 3166-1 alpha-2) and group names, as
  // written; empty only for default.toml.
  std::vector<std::string> applies_to;
  // nullopt when the file has no such table: that direction falls through
  // to the next less specific file. default.toml always has both (the
  // built-in defaults fill an absent table).
  std::optional<OutboundRules> outbound;
  std::optional<InboundRules> inbound;
  // Line of every key present, "outbound.max_tlp" -> 7, so that decisions
  // can name the line of the rule that made them.
  std::map<std::string, int, std::less<>> key_lines;

  int LineOf(std::string_view key) const;  // 0 when the key is absent
};

struct ProtectedCidr {
  protocol::IpNetwork network;
  int line = 0;
};
struct ProtectedSuffix {
  std::string suffix;  // lowercase, no leading or trailing dot
  int line = 0;
};
struct ProtectedAsn {
  uint32_t asn = 0;
  int line = 0;
};

// An address range in a form that compares numerically: family first
// (IPv4 < IPv6), then the 16 bytes of protocol::IpNetwork::First()/Last().
struct IpBound {
  bool is_v6 = false;
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const IpBound&) const = default;
};

// protected.toml: national assets whose indicators never leave.
struct ProtectedAssets {
  std::vector<ProtectedCidr> cidrs;
  // `cidrs` merged into disjoint ranges sorted by start (built by
  // IndexProtectedNetworks), so that a check is a binary search rather than
  // a scan of a long list.
  std::vector<std::pair<IpBound, IpBound>> cidr_ranges;
  std::vector<ProtectedSuffix> domain_suffixes;
  std::vector<ProtectedAsn> asns;
};

struct PolicySet {
  PolicyFile default_file;         // name == kDefaultFile
  std::vector<PolicyFile> scopes;  // every other file, sorted by name
  ProtectedAssets protected_assets;
  // groups.toml: group name -> member country codes (sorted, unique).
  std::map<std::string, std::vector<std::string>, std::less<>> groups;

  // Resolution tables the loader builds (indexes into `scopes`).
  // country -> the file naming it directly.
  std::map<std::string, size_t, std::less<>> country_files;
  // country -> (the one file naming a group it belongs to, that group);
  // absent when no file, or more than one, applies to its groups.
  std::map<std::string, std::pair<size_t, std::string>, std::less<>>
      group_files;
};

}  // namespace caravan::policy
