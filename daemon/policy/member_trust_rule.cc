#include "daemon/policy/member_trust_rule.h"

#include <string>

namespace caravan::policy {

std::optional<Rule> MemberTrustRule(const protocol::RecordBody& current,
                                    const OriginTrust& origin) {
  // A compromise is the stronger statement: name it first.
  if (origin.compromised_since && current.created >= *origin.compromised_since &&
      (!origin.compromised_until || current.created < *origin.compromised_until)) {
    return Rule{"", 0, kRuleCompromisedKey,
                "the origin's key is declared compromised since Unix time " +
                    std::to_string(*origin.compromised_since) +
                    " and this revision was created at " +
                    std::to_string(current.created) +
                    "; it is quarantined evidence and never leaves"};
  }
  if (origin.departed) {
    return Rule{"", 0, kRuleRemovedMember,
                "the origin was removed from the roster; its records are "
                "kept here with their signatures and never leave"};
  }
  return std::nullopt;
}

}  // namespace caravan::policy
