#pragma once
// The policy's view (policy::OriginTrust) of one record's origin, from the
// store's member trust state (store::MemberTrust), read once per page.
// Pure.

#include "daemon/policy/member_trust_rule.h"
#include "daemon/store/member_trust.h"
#include "daemon/sync/key_chain.h"

namespace caravan::daemon::sync {

// `chains` (may be null): a compromised key that was rotated away from is
// covered only up to its rotation time.
inline policy::OriginTrust OriginTrustOf(const store::MemberTrust& trust,
                                         const protocol::PublicKey& origin,
                                         const KeyChains* chains = nullptr) {
  policy::OriginTrust out;
  out.departed = trust.IsDeparted(origin);
  if (auto it = trust.compromised.find(origin); it != trust.compromised.end()) {
    out.compromised_since = it->second.since;
    if (chains != nullptr) {
      if (const crypto::RotationStatement* retired = chains->RetiredBy(origin)) {
        out.compromised_until = retired->rotated_at;
      }
    }
  }
  return out;
}

}  // namespace caravan::daemon::sync
