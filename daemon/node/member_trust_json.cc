#include "daemon/node/member_trust_json.h"

#include "crypto/key_text.h"
#include "protocol/config/roster_file.h"
#include "daemon/node/indicator_json.h"

namespace caravan::daemon {

const store::CompromisedKey* CompromiseCovering(
    const store::MemberTrust& trust, const sync::KeyChains* chains,
    const store::IndicatorRow& row) {
  const store::CompromisedKey* c = trust.CompromiseOf(row.origin, row.created);
  // A revision made after its origin key was rotated away from was signed
  // by the successor: the retired key's compromise does not cover it.
  if (c != nullptr && chains != nullptr) {
    const crypto::RotationStatement* retired = chains->RetiredBy(row.origin);
    if (retired != nullptr && row.created >= retired->rotated_at) c = nullptr;
  }
  return c;
}

void AddMemberTrustJson(const store::MemberTrust& trust,
                        const sync::KeyChains* chains,
                        const store::IndicatorRow& row, nlohmann::json& out) {
  const store::CompromisedKey* c = CompromiseCovering(trust, chains, row);
  if (c == nullptr) {
    out["compromise"] = nullptr;
  } else {
    out["compromise"] = {
        {"since", TimeOrNull(c->since)},
        {"declared_at", TimeOrNull(c->declared_at)},
        {"declared_by", protocol::PublicKeyToText(c->declared_by)},
        {"action", std::string(store::CompromiseActionName(c->action))}};
  }
  out["origin_removed"] = trust.IsDeparted(row.origin);
  if (row.quarantined) {
    out["quarantine_reason"] =
        c != nullptr && c->action == store::CompromiseAction::kQuarantine
            ? "compromised_key"
            : "inbound_policy";
  }
}

}  // namespace caravan::daemon
