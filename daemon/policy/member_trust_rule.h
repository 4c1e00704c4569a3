#pragma once
// The sovereignty rules of member trust (issue 16, docs/federation.md
// "Leaving" and "Compromise"), asked by DecideShare before any policy
// file: a record whose origin was removed from the roster, or whose
// origin key is compromised for the record's creation time, never leaves
// this node, whatever the recipient holds or the policy allows.
//
// Pure; thread-safe.

#include <cstdint>
#include <optional>

#include "daemon/policy/policy_eval.h"
#include "protocol/indicator.h"

namespace caravan::policy {

// The origin's trust state as the caller found it (store::MemberTrust).
struct OriginTrust {
  bool departed = false;  // removed from the roster (`peers remove`)
  // Its key is declared compromised since this time (Unix seconds).
  std::optional<int64_t> compromised_since;
  // A key rotated away from signed nothing after its rotation time: later
  // revisions of its indicators are its successor's and not covered.
  std::optional<int64_t> compromised_until;
};

// Rule keys, as `policy explain`, the audit and `caravan report` name them.
inline constexpr const char* kRuleRemovedMember = "removed_member";
inline constexpr const char* kRuleCompromisedKey = "compromised_key";

// The rule that keeps `current` home, or nullopt when trust does not.
std::optional<Rule> MemberTrustRule(const protocol::RecordBody& current,
                                    const OriginTrust& origin);

}  // namespace caravan::policy
