#include "daemon/sync/warninglist_flag.h"

#include <nlohmann/json.hpp>

#include "daemon/sync/decision_audit.h"
#include "protocol/record_codec.h"

namespace caravan::daemon::sync {

Status RecordWarninglistHit(store::WriteTxn& txn,
                            const protocol::IndicatorId& id,
                            const protocol::WarninglistMatch& match,
                            bool forced, const std::string& actor,
                            const std::string& peer) {
  CARAVAN_RETURN_IF_ERROR(
      txn.PutWarninglistHit({id, match.list, match.entry, forced, 0}));
  const nlohmann::json detail = {{"list", match.list},
                                 {"entry", match.entry},
                                 {"forced", forced}};
  auto audited = txn.AppendAudit(
      {txn.now(), actor, forced ? "warninglist-force" : "warninglist-flag",
       protocol::IdToHex(id), peer, AuditDetailJson(detail)});
  return audited.ok() ? Status::Ok() : audited.status();
}

Status WarninglistRefusal(const protocol::WarninglistMatch& match) {
  return InvalidInput("matches warninglist '" + match.list + "' (entry " +
                      match.entry + "); use --force to submit anyway");
}

}  // namespace caravan::daemon::sync
