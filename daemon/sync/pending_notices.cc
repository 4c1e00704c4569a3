// The store side of pending compromise notices (pending_notices.h); the
// sending side is SyncEngine::SendPendingNotices (compromise_exchange.cc).
#include "daemon/sync/pending_notices.h"

namespace caravan::daemon::sync {

Status StorePendingNotice(store::WriteTxn& txn, const CompromiseNotice& notice,
                          const std::vector<std::string>& peers) {
  store::PendingNoticeRow row;
  row.digest = NoticeDigest(notice);
  row.notice = EncodeCompromiseNotice(notice);
  for (const auto& peer : peers) {
    row.peer = peer;
    auto put = txn.PendingNoticePut(row);
    if (!put.ok()) return put.status();
  }
  return Status::Ok();
}

}  // namespace caravan::daemon::sync
