#pragma once
// The member trust marks of an indicator's JSON (issue 16): `compromise`
// (the origin key is declared compromised for this revision's creation
// time: since, by whom, quarantine or flag; null otherwise),
// `origin_removed` (its origin left the roster) and, for a quarantined
// one, `quarantine_reason` ("compromised_key" or "inbound_policy").

#include <nlohmann/json.hpp>

#include "daemon/store/member_trust.h"
#include "daemon/store/store_types.h"

namespace caravan::daemon {

void AddMemberTrustJson(const store::MemberTrust& trust,
                        const store::IndicatorRow& row, nlohmann::json& out);

}  // namespace caravan::daemon
