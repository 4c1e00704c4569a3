#pragma once
// Warninglist flags on stored indicators (docs/warninglists.md): the one
// place that turns a protocol::WarninglistMatch into a stored, audited hit,
// for local submissions (daemon/node/submitter.cc) and received records
// (inbound.cc) alike, and the refusal text for on_match = "refuse".
//
// Stateless functions; call them from inside a Store::Write function.

#include <string>

#include "daemon/store/write_txn.h"
#include "protocol/status.h"
#include "protocol/formats/warninglist.h"

namespace caravan::daemon::sync {

// Stores the hit of the held indicator `id` (WriteTxn::PutWarninglistHit;
// an earlier forced hit stays forced) and audits it as "warninglist-flag"
// or, when `forced`, "warninglist-force", with the list and entry. Fails
// only when the store or audit write fails.
Status RecordWarninglistHit(store::WriteTxn& txn,
                            const protocol::IndicatorId& id,
                            const protocol::WarninglistMatch& match,
                            bool forced, const std::string& actor,
                            const std::string& peer);

// InvalidInput "matches warninglist 'NAME' (entry ENTRY); use --force to
// submit anyway".
Status WarninglistRefusal(const protocol::WarninglistMatch& match);

}  // namespace caravan::daemon::sync
