// WriteTxn and Reader methods for table pending_notices (schema.cc,
// kMigrationPendingNotices; schema.md): the compromise notices this node
// issued that wait for a peer to confirm it received them
// (docs/federation.md "Compromise"). Bounded in all (kMaxPendingNotices);
// a row goes when the peer confirmed the notice or left the roster.
#include <sqlite3.h>

#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {

using internal::Statement;

namespace {

Status CheckPeer(std::string_view peer) {
  if (peer.empty() || peer.size() > kMaxPendingNoticePeerBytes) {
    return InvalidInput("pending compromise notice for a peer name of " +
                        std::to_string(peer.size()) + " bytes (1 to " +
                        std::to_string(kMaxPendingNoticePeerBytes) + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<bool> WriteTxn::PendingNoticePut(const PendingNoticeRow& row) {
  CARAVAN_RETURN_IF_ERROR(CheckPeer(row.peer));
  if (row.notice.empty() || row.notice.size() > kMaxPendingNoticeBytes) {
    return InvalidInput("pending compromise notice of " +
                        std::to_string(row.notice.size()) + " bytes (1 to " +
                        std::to_string(kMaxPendingNoticeBytes) + ")");
  }
  // The same notice queued twice for a peer is one row (the first).
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement put,
      db_.Prepare("INSERT INTO pending_notices (peer, digest, notice, "
                  "queued_at) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (peer, digest) DO NOTHING"));
  put.BindText(1, row.peer);
  put.BindBlob(2, row.digest);
  put.BindBlob(3, row.notice);
  put.Bind(4, now_);
  CARAVAN_RETURN_IF_ERROR(put.Run());
  if (sqlite3_changes(db_.handle()) == 0) return false;
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t rows, db_.QueryInt("SELECT count(*) FROM pending_notices"));
  if (rows > static_cast<int64_t>(kMaxPendingNotices)) {
    // Returning an error rolls this write back (its savepoint).
    return InvalidInput(
        "too many compromise notices wait for offline peers (" +
        std::to_string(kMaxPendingNotices) +
        "); bring those peers back or remove them from the roster first");
  }
  return true;
}

Status WriteTxn::PendingNoticeDelete(std::string_view peer,
                                     const std::array<uint8_t, 32>& digest) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("DELETE FROM pending_notices WHERE peer = ? "
                                "AND digest = ?"));
  st.BindText(1, peer);
  st.BindBlob(2, digest);
  return st.Run();
}

Result<uint64_t> WriteTxn::PendingNoticesForget(std::string_view peer) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("DELETE FROM pending_notices WHERE peer = ?"));
  st.BindText(1, peer);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return static_cast<uint64_t>(sqlite3_changes(db_.handle()));
}

Result<PendingNotices> Reader::PendingNoticesFor(std::string_view peer) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT digest, notice, queued_at, typeof(notice), "
                   "typeof(queued_at) FROM pending_notices WHERE peer = ? "
                   "ORDER BY queued_at, digest LIMIT ?"));
  st.BindText(1, peer);
  st.Bind(2, static_cast<int64_t>(kMaxPendingNotices));
  PendingNotices out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    PendingNoticeRow row;
    row.peer = std::string(peer);
    const bool ok = st.FixedBlob(0, row.digest) && st.Text(3) == "blob" &&
                    st.Text(4) == "integer";
    if (ok) row.notice = st.Blob(1);
    if (!ok || row.notice.empty() ||
        row.notice.size() > kMaxPendingNoticeBytes) {
      ++out.malformed;  // what the CHECKs forbid, found when bypassed
      continue;
    }
    row.queued_at = st.Int(2);
    out.rows.push_back(std::move(row));
  }
  return out;
}

Result<int64_t> Reader::PendingNoticeCount() {
  return db_->QueryInt("SELECT count(*) FROM pending_notices");
}

}  // namespace caravan::store
