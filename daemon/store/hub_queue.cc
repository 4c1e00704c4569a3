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

// Adds to one hub_counters row, in the caller's transaction.
Status AddHubCount(internal::Database& db, std::string_view event,
                   std::string_view reason, uint64_t envelopes,
                   uint64_t bytes) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO hub_counters (event, reason, envelopes, bytes) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT (event, reason) DO UPDATE "
                 "SET envelopes = envelopes + excluded.envelopes, "
                 "bytes = bytes + excluded.bytes"));
  st.BindText(1, event);
  st.BindText(2, reason);
  st.Bind(3, Clamp(envelopes));
  st.Bind(4, Clamp(bytes));
  return st.Run();
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
                  "recipient_key, first_seq, up_to_seq, envelope, stored_at, "
                  "envelope_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  st.BindBlob(1, e.envelope_id);
  st.BindText(2, e.sender);
  st.BindBlob(3, e.sender_key);
  st.BindBlob(4, e.recipient_key);
  st.Bind(5, Clamp(e.first_seq));
  st.Bind(6, Clamp(e.up_to_seq));
  st.BindBlob(7, e.envelope);
  st.Bind(8, now_);
  st.Bind(9, Clamp(e.envelope.size()));
  CARAVAN_RETURN_IF_ERROR(st.Run());
  out.kind = HubEnqueueOutcome::kStored;
  out.hub_seq =
      static_cast<uint64_t>(sqlite3_last_insert_rowid(db_.handle()));
  ++out.queued_from_sender;
  CARAVAN_RETURN_IF_ERROR(
      AddHubCount(db_, "stored", "", 1, e.envelope.size()));
  return out;
}

Result<std::vector<HubEnvelope>> WriteTxn::HubRemoveDelivered(
    const PublicKey& recipient, uint64_t up_to_hub_seq) {
  std::vector<HubEnvelope> removed;
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM hub_queue WHERE recipient_key = ? AND "
                  "hub_seq <= ? RETURNING hub_seq, envelope_id, sender, "
                  "first_seq, up_to_seq, envelope_bytes"));
  st.BindBlob(1, recipient);
  st.Bind(2, Clamp(up_to_hub_seq));
  uint64_t bytes = 0;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    HubEnvelope e;
    e.hub_seq = static_cast<uint64_t>(st.Int(0));
    st.FixedBlob(1, e.envelope_id);
    e.sender = st.Text(2);
    e.first_seq = static_cast<uint64_t>(st.Int(3));
    e.up_to_seq = static_cast<uint64_t>(st.Int(4));
    bytes += static_cast<uint64_t>(std::max<int64_t>(0, st.Int(5)));
    e.recipient_key = recipient;
    removed.push_back(std::move(e));
  }
  if (!removed.empty()) {
    CARAVAN_RETURN_IF_ERROR(
        AddHubCount(db_, "forwarded", "", removed.size(), bytes));
  }
  std::sort(removed.begin(), removed.end(),
            [](const HubEnvelope& a, const HubEnvelope& b) {
              return a.hub_seq < b.hub_seq;
            });
  return removed;
}

Status WriteTxn::HubCountRefused(std::string_view reason, uint64_t bytes) {
  if (reason != kHubRefusedNotHub && reason != kHubRefusedUnknownRecipient &&
      reason != kHubRefusedQueueFull && reason != kHubRefusedOldFormat) {
    return InvalidInput("unknown hub refusal reason '" + std::string(reason) +
                        "'");
  }
  return AddHubCount(db_, "refused", reason, 1, bytes);
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

Result<std::vector<HubDepth>> Reader::HubQueueDepths() {
  // Grouping by the index's leading column walks hub_queue_recipient_depth
  // once, in order; every column read is in the index (a covering scan).
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT recipient_key, count(*), sum(envelope_bytes) "
                   "FROM hub_queue INDEXED BY hub_queue_recipient_depth "
                   "GROUP BY recipient_key"));
  std::vector<HubDepth> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    HubDepth d;
    if (!st.FixedBlob(0, d.recipient_key)) {
      return Corrupt("hub_queue holds a malformed recipient key");
    }
    d.envelopes = static_cast<uint64_t>(st.Int(1));
    d.bytes = static_cast<uint64_t>(st.Int(2));
    out.push_back(d);
  }
  return out;
}

Result<std::vector<HubCount>> Reader::HubCounters() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT event, reason, envelopes, bytes FROM hub_counters "
                   "ORDER BY event, reason"));
  std::vector<HubCount> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Text(0), st.Text(1), static_cast<uint64_t>(st.Int(2)),
                   static_cast<uint64_t>(st.Int(3))});
  }
  return out;
}

}  // namespace caravan::store
