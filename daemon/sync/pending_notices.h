#pragma once
// Compromise notices this node issued, kept in the store until each peer
// they are meant for confirmed receipt (issue 16; docs/federation.md
// "Compromise"; table pending_notices, daemon/store/pending_notice_row.h).
//
// The caller that declares a compromise writes the notice for every peer
// that received the affected records in the same transaction as the
// declaration, so a restart (or the identity rotation's in-process
// reload) loses neither. SyncEngine sends a peer's rows when a session
// with it opens and whenever NoticesQueued names it, and deletes them once
// the peer's link answered a round trip sent after them
// (link::Link::RoundTrip). A notice sent twice is harmless: the receiver
// refuses the second as replayed (NoticeDigest).

#include <string>
#include <vector>

#include "daemon/store/write_txn.h"
#include "daemon/sync/compromise_notice.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

static_assert(store::kMaxPendingNoticeBytes == kMaxCompromiseNoticeBytes,
              "a stored pending notice holds any notice we can encode");

// Queues `notice` for each of `peers` (roster names) inside `txn`. A
// notice already waiting for a peer stays one row. Fails (the caller's
// write rolls back) past store::kMaxPendingNotices rows in all, or for a
// peer name out of bounds.
Status StorePendingNotice(store::WriteTxn& txn, const CompromiseNotice& notice,
                          const std::vector<std::string>& peers);

}  // namespace caravan::daemon::sync
