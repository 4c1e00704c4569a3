#pragma once
// The policy's view (policy::OriginTrust) of one record's origin, from the
// store's member trust state (store::MemberTrust), read once per page.
// Pure.

#include <optional>

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

// Quarantine on arrival (issue 16): a record whose origin key is declared
// compromised with action quarantine, created at or after `since` (and,
// for a key rotated away from, before that rotation), that reaches us
// later (relayed by a third member, or sent before the notice) is stored
// quarantined, as QuarantineOrigin would have left it had it been here:
// the compromised_key rule, or nullopt. A "flag" compromise marks such a
// record on reading (show, query) and keeps it home, as for records held
// already; a departed origin does not quarantine (its records stay).
inline std::optional<policy::Rule> QuarantineOnArrival(
    const store::MemberTrust& trust, const KeyChains* chains,
    const protocol::RecordBody& body) {
  const store::CompromisedKey* c = trust.CompromiseOf(body.origin, body.created);
  if (c == nullptr || c->action != store::CompromiseAction::kQuarantine) {
    return std::nullopt;
  }
  policy::OriginTrust origin = OriginTrustOf(trust, body.origin, chains);
  origin.departed = false;
  return policy::MemberTrustRule(body, origin);
}

}  // namespace caravan::daemon::sync
