#pragma once
// The member trust marks of an indicator's JSON (issue 16): `compromise`
// (the origin key is declared compromised for this revision's creation
// time: since, by whom, quarantine or flag; null otherwise),
// `origin_removed` (its origin left the roster) and, for a quarantined
// one, `quarantine_reason` ("compromised_key" or "inbound_policy").

#include <nlohmann/json.hpp>

#include "daemon/store/member_trust.h"
#include "daemon/store/store_types.h"
#include "daemon/sync/key_chain.h"

namespace caravan::daemon {

// The compromise that covers `row`, or nullptr. `chains` (may be null):
// the key chains of the roster, so that a compromised key rotated away
// from covers only revisions made before its rotation (as the outbound
// rule: sync/origin_trust.h).
const store::CompromisedKey* CompromiseCovering(const store::MemberTrust& trust,
                                                const sync::KeyChains* chains,
                                                const store::IndicatorRow& row);

// Sets the marks on `out` (indicator_json_writer.h writes the same text).
void AddMemberTrustJson(const store::MemberTrust& trust, const sync::KeyChains* chains,
                        const store::IndicatorRow& row, nlohmann::json& out);

}  // namespace caravan::daemon
