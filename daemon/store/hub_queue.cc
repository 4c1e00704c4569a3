// The hub queue's store methods (declared in write_txn.h and reader.h),
// kept apart from the rest of the store: only a hub uses them.

#include <algorithm>
#include <climits>

#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {
using internal::Statement;

namespace {

int64_t Clamp(uint64_t v) {
  return static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX));
}

}  // namespace

Result<HubEnqueueOutcome> WriteTxn::HubEnqueue(const HubEnvelope& e,
                                               uint64_t max_per_sender) {
  if (e.sender.empty() || e.sender.size() > 256) {
    return InvalidInput("hub envelope sender name must be 1..256 bytes");
  }
  if (e.envelope.empty()) return InvalidInput("hub envelope is empty");
  if (e.first_seq > e.up_to_seq) {
    return InvalidInput("hub envelope range " + std::to_string(e.first_seq) +
                        ".." + std::to_string(e.up_to_seq) + " is reversed");
  }
  HubEnqueueOutcome out;
  {
    // A resend of an envelope already queued (its ack was lost) is
    // acknowledged again, not queued twice.
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT hub_seq FROM hub_queue WHERE envelope_id = ?"));
    st.BindBlob(1, e.envelope_id);
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool found, st.Step());
    if (found) {
      out.kind = HubEnqueueOutcome::kDuplicate;
      out.hub_seq = static_cast<uint64_t>(st.Int(0));
    }
  }
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT count(*) FROM hub_queue WHERE sender_key = ?"));
    st.BindBlob(1, e.sender_key);
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    out.queued_from_sender = row ? static_cast<uint64_t>(st.Int(0)) : 0;
  }
  if (out.kind == HubEnqueueOutcome::kDuplicate) return out;
  if (out.queued_from_sender >= max_per_sender) {
    out.kind = HubEnqueueOutcome::kQueueFull;
    return out;
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO hub_queue (envelope_id, sender, sender_key, "
                  "recipient_key, first_seq, up_to_seq, envelope, stored_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  st.BindBlob(1, e.envelope_id);
  st.BindText(2, e.sender);
  st.BindBlob(3, e.sender_key);
  st.BindBlob(4, e.recipient_key);
  st.Bind(5, Clamp(e.first_seq));
  st.Bind(6, Clamp(e.up_to_seq));
  st.BindBlob(7, e.envelope);
  st.Bind(8, now_);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  out.kind = HubEnqueueOutcome::kStored;
  out.hub_seq =
      static_cast<uint64_t>(sqlite3_last_insert_rowid(db_.handle()));
  ++out.queued_from_sender;
  return out;
}

Result<std::vector<HubEnvelope>> WriteTxn::HubRemoveDelivered(
    const PublicKey& recipient, uint64_t up_to_hub_seq) {
  std::vector<HubEnvelope> removed;
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM hub_queue WHERE recipient_key = ? AND "
                  "hub_seq <= ? RETURNING hub_seq, envelope_id, sender, "
                  "first_seq, up_to_seq"));
  st.BindBlob(1, recipient);
  st.Bind(2, Clamp(up_to_hub_seq));
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    HubEnvelope e;
    e.hub_seq = static_cast<uint64_t>(st.Int(0));
    st.FixedBlob(1, e.envelope_id);
    e.sender = st.Text(2);
    e.first_seq = static_cast<uint64_t>(st.Int(3));
    e.up_to_seq = static_cast<uint64_t>(st.Int(4));
    e.recipient_key = recipient;
    removed.push_back(std::move(e));
  }
  std::sort(removed.begin(), removed.end(),
            [](const HubEnvelope& a, const HubEnvelope& b) {
              return a.hub_seq < b.hub_seq;
            });
  return removed;
}

Result<std::vector<HubEnvelope>> Reader::HubPending(const PublicKey& recipient,
                                                    uint64_t after_hub_seq,
                                                    size_t limit) {
  if (limit == 0 || limit > 100000) {
    return InvalidInput("hub queue page limit must be 1..100000");
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT hub_seq, envelope_id, sender, sender_key, "
                   "first_seq, up_to_seq, envelope, stored_at FROM hub_queue "
                   "WHERE recipient_key = ? AND hub_seq > ? ORDER BY hub_seq "
                   "LIMIT ?"));
  st.BindBlob(1, recipient);
  st.Bind(2, Clamp(after_hub_seq));
  st.Bind(3, static_cast<int64_t>(limit));
  std::vector<HubEnvelope> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    HubEnvelope e;
    e.hub_seq = static_cast<uint64_t>(st.Int(0));
    if (!st.FixedBlob(1, e.envelope_id) || !st.FixedBlob(3, e.sender_key)) {
      return Corrupt("hub_queue row " + std::to_string(e.hub_seq) +
                     " has a malformed key or id");
    }
    e.sender = st.Text(2);
    e.recipient_key = recipient;
    e.first_seq = static_cast<uint64_t>(st.Int(4));
    e.up_to_seq = static_cast<uint64_t>(st.Int(5));
    e.envelope = st.Blob(6);
    e.stored_at = st.Int(7);
    out.push_back(std::move(e));
  }
  return out;
}

Result<uint64_t> Reader::HubQueued() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT count(*) FROM hub_queue"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<uint64_t>(st.Int(0)) : uint64_t{0};
}

}  // namespace caravan::store
