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

#include <array>
#include <set>
#include <string>
#include <vector>

#include "daemon/store/store.h"
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

// Deletes `peer`'s rows of these digests (one store write): notices
// delivered, or rows too damaged to send.
Status ForgetPendingNotices(store::Store& store, const std::string& peer,
                            const std::vector<std::array<uint8_t, 32>>& digests);

// A member reached through a hub gets its notices inside a sealed batch
// (SealedInner.notices, docs/federation.md "Compromise notices through a
// hub"); its rows are deleted on its own receipt of that batch.
using NoticeRowDigest = std::array<uint8_t, 32>;
struct SealedNoticeSet {
  std::vector<CompromiseNotice> notices;  // as they go (signed by us now)
  std::vector<NoticeRowDigest> rows;      // the stored rows they came from
};
struct SealedNoticeChoice {
  SealedNoticeSet next;                  // for the next batch; may be empty
  std::vector<NoticeRowDigest> damaged;  // rows that do not decode: delete
  bool more = false;                     // rows left for a later batch
};
// Chooses up to `max` of `rows` that are not `riding` in a batch awaiting
// its receipt, in stored order. A notice issued before our identity key
// rotated is signed again by `identity` (peers pin only our current key),
// with the same key, since and issue time.
SealedNoticeChoice ChooseSealedNotices(
    const std::vector<store::PendingNoticeRow>& rows,
    const std::set<NoticeRowDigest>& riding,
    const crypto::IdentityKey& identity, size_t max);

// The notices a sealed batch carries, kept with its outbox row (the
// `sent` column's JSON, unacked_page.h, gets a "notices" key: [[row digest
// hex, encoded notice hex], ...]) so that after a restart the batch is
// sealed again with them and their rows are deleted on its receipt.
std::string WithSealedNotices(const std::string& page_json,
                              const SealedNoticeSet& notices);
// Inverse: empty when the key is absent; kInvalidInput when it is not
// what WithSealedNotices writes (at most kMaxSealedNotices entries).
Result<SealedNoticeSet> SealedNoticesOf(const std::string& page_json);

}  // namespace caravan::daemon::sync
