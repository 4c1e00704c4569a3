// WriteTxn and Reader methods for table warninglist_hits (migration 3,
// schema.md). Kept apart from write_txn.cc/reader.cc: one small job.
#include "crypto/key_text.h"
#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {

using internal::Statement;

Status WriteTxn::PutWarninglistHit(const WarninglistHit& hit) {
  if (hit.list.empty()) return InvalidInput("warninglist hit without a list");
  const std::string list = hit.list.substr(0, kMaxWarninglistHitText);
  const std::string entry = hit.entry.substr(0, kMaxWarninglistHitText);
  // The indicator must already be held (the caller stores the record
  // first, in the same transaction).
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<CurrentInfo> cur,
                                 Current(hit.id));
  if (!cur) {
    return InvalidInput("warninglist hit for indicator " +
                        crypto::ToHex(hit.id) + ", which is not held");
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement put,
      db_.Prepare("INSERT INTO warninglist_hits (id, list, entry, forced, "
                  "flagged_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) "
                  "DO UPDATE SET list = ?2, entry = ?3, forced = max(forced, ?4)"));
  put.BindBlob(1, hit.id);
  put.BindText(2, list);
  put.BindText(3, entry);
  put.Bind(4, hit.forced ? 1 : 0);
  put.Bind(5, now_);
  CARAVAN_RETURN_IF_ERROR(put.Run());
  // A hit once forced stays forced: a later import of the same value
  // without --force must not quietly stop sharing it.
  // indicators.warning mirrors "flagged and not forced" for the readers
  // that only see the current row (TAXII, /feeds blocklists).
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement mark,
      db_.Prepare("UPDATE indicators SET warning = 1 - (SELECT forced FROM "
                  "warninglist_hits WHERE id = ?1) WHERE rid = ?2"));
  mark.BindBlob(1, hit.id);
  mark.Bind(2, cur->rid);
  return mark.Run();
}

Result<std::optional<WarninglistHit>> Reader::GetWarninglistHit(
    const IndicatorId& id) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT list, entry, forced, flagged_at FROM "
                   "warninglist_hits WHERE id = ?"));
  st.BindBlob(1, id);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<WarninglistHit>();
  WarninglistHit hit;
  hit.id = id;
  hit.list = st.Text(0);
  hit.entry = st.Text(1);
  hit.forced = st.Int(2) != 0;
  hit.flagged_at = st.Int(3);
  return std::optional<WarninglistHit>(std::move(hit));
}

Result<bool> Reader::HasWarninglistHits() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT EXISTS (SELECT 1 FROM warninglist_hits)"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  return row && st.Int(0) != 0;
}

}  // namespace caravan::store
