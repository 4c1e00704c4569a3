#pragma once
// The policy's view (policy::OriginTrust) of one record's origin, from the
// store's member trust state (store::MemberTrust), read once per page.
// Pure.

#include "daemon/policy/member_trust_rule.h"
#include "daemon/store/member_trust.h"

namespace caravan::daemon::sync {

inline policy::OriginTrust OriginTrustOf(const store::MemberTrust& trust,
                                         const protocol::PublicKey& origin) {
  policy::OriginTrust out;
  out.departed = trust.IsDeparted(origin);
  if (auto it = trust.compromised.find(origin); it != trust.compromised.end()) {
    out.compromised_since = it->second.since;
  }
  return out;
}

}  // namespace caravan::daemon::sync
