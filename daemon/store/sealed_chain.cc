// Hub accountability's store methods (declared in write_txn.h and
// reader.h): the per-pair chains of sealed envelopes and the sender's
// outbox of batches its recipients have not receipted (schema.cc,
// kMigrationSealedChains; docs/federation.md "Hub accountability").

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

uint64_t Count(const Statement& st, int col) {
  return static_cast<uint64_t>(std::max<int64_t>(0, st.Int(col)));
}

// Reads sealed_chain_in's columns in table order into `out`.
bool ReadChainIn(const Statement& st, SealedChainIn& out) {
  if (!st.FixedBlob(0, out.sender_key) || !st.FixedBlob(2, out.last_hash)) {
    return false;
  }
  out.last_seq = Count(st, 1);
  out.gaps = Count(st, 3);
  out.duplicates = Count(st, 4);
  out.refused = Count(st, 5);
  out.broken = Count(st, 6);
  out.last_fault_at = st.Int(7);
  return true;
}

constexpr const char* kChainInColumns =
    "sender_key, last_seq, last_hash, gaps, duplicates, refused, broken, "
    "last_fault_at";

}  // namespace

Result<SealedChainIn> WriteTxn::SealedChainInGet(const PublicKey& sender) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare(std::string("SELECT ") + kChainInColumns +
                  " FROM sealed_chain_in WHERE sender_key = ?"));
  st.BindBlob(1, sender);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  SealedChainIn out;
  out.sender_key = sender;
  if (row && !ReadChainIn(st, out)) {
    return Corrupt("sealed_chain_in holds a malformed key or hash");
  }
  return out;
}

Status WriteTxn::SealedChainInAdvance(const PublicKey& sender, uint64_t seq,
                                      const ChainDigest& hash) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO sealed_chain_in (sender_key, last_seq, "
                  "last_hash) VALUES (?, ?, ?) ON CONFLICT (sender_key) DO "
                  "UPDATE SET last_seq = excluded.last_seq, last_hash = "
                  "excluded.last_hash"));
  st.BindBlob(1, sender);
  st.Bind(2, Clamp(seq));
  st.BindBlob(3, hash);
  return st.Run();
}

Status WriteTxn::SealedChainInFault(const PublicKey& sender,
                                    std::string_view kind) {
  std::string column;
  if (kind == kChainGap) column = "gaps";
  if (kind == kChainDuplicate) column = "duplicates";
  if (kind == kChainRefused) column = "refused";
  if (kind == kChainBroken) column = "broken";
  if (column.empty()) {
    return InvalidInput("unknown sealed chain fault '" + std::string(kind) +
                        "'");
  }
  const ChainDigest none{};
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO sealed_chain_in (sender_key, last_seq, "
                  "last_hash, " + column + ", last_fault_at) VALUES (?, 0, ?, "
                  "1, ?) ON CONFLICT (sender_key) DO UPDATE SET " + column +
                  " = " + column + " + 1, last_fault_at = excluded."
                  "last_fault_at"));
  st.BindBlob(1, sender);
  st.BindBlob(2, none);
  st.Bind(3, now_);
  return st.Run();
}

Status WriteTxn::SealedOutboxPut(const SealedOutboxEntry& e,
                                 const ChainDigest& hash) {
  if (e.pair_seq == 0) return InvalidInput("sealed outbox pair seq is 0");
  if (e.envelope.empty()) return InvalidInput("sealed outbox envelope empty");
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("INSERT INTO sealed_outbox (recipient_key, pair_seq, "
                    "up_to_seq, envelope, sent, queued_at_hub, created_at, "
                    "reseal) VALUES (?, ?, ?, ?, ?, 0, ?, ?)"));
    st.BindBlob(1, e.recipient_key);
    st.Bind(2, Clamp(e.pair_seq));
    st.Bind(3, Clamp(e.up_to_seq));
    st.BindBlob(4, e.envelope);
    st.BindText(5, e.sent);
    st.Bind(6, now_);
    if (e.reseal.empty()) {
      st.BindNull(7);
    } else {
      st.BindBlob(7, e.reseal);
    }
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO sealed_chain_out (recipient_key, last_seq, "
                  "last_hash) VALUES (?, ?, ?) ON CONFLICT (recipient_key) DO "
                  "UPDATE SET last_seq = excluded.last_seq, last_hash = "
                  "excluded.last_hash"));
  st.BindBlob(1, e.recipient_key);
  st.Bind(2, Clamp(e.pair_seq));
  st.BindBlob(3, hash);
  return st.Run();
}

Status WriteTxn::SealedOutboxResealed(const PublicKey& recipient,
                                      uint64_t pair_seq,
                                      const std::vector<uint8_t>& envelope,
                                      const std::vector<uint8_t>& reseal,
                                      const ChainDigest& hash) {
  if (envelope.empty()) return InvalidInput("sealed outbox envelope empty");
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("UPDATE sealed_outbox SET envelope = ?, reseal = ?, "
                    "queued_at_hub = 0 WHERE recipient_key = ? AND "
                    "pair_seq = ?"));
    st.BindBlob(1, envelope);
    st.BindBlob(2, reseal);
    st.BindBlob(3, recipient);
    st.Bind(4, Clamp(pair_seq));
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  // The head of our chain is the newest envelope: when it was sealed
  // again, the next batch chains to its new hash.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE sealed_chain_out SET last_hash = ? WHERE "
                  "recipient_key = ? AND last_seq = ?"));
  st.BindBlob(1, hash);
  st.BindBlob(2, recipient);
  st.Bind(3, Clamp(pair_seq));
  return st.Run();
}

Status WriteTxn::SealedOutboxQueued(const PublicKey& recipient,
                                    uint64_t pair_seq) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE sealed_outbox SET queued_at_hub = 1 WHERE "
                  "recipient_key = ? AND pair_seq = ?"));
  st.BindBlob(1, recipient);
  st.Bind(2, Clamp(pair_seq));
  return st.Run();
}

Result<std::vector<SealedOutboxEntry>> WriteTxn::SealedOutboxReceipted(
    const PublicKey& recipient, uint64_t pair_seq) {
  std::vector<SealedOutboxEntry> out;
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("DELETE FROM sealed_outbox WHERE recipient_key = ? AND "
                    "pair_seq <= ? RETURNING pair_seq, up_to_seq, sent"));
    st.BindBlob(1, recipient);
    st.Bind(2, Clamp(pair_seq));
    for (;;) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      SealedOutboxEntry e;
      e.recipient_key = recipient;
      e.pair_seq = Count(st, 0);
      e.up_to_seq = Count(st, 1);
      e.sent = st.Text(2);
      out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const SealedOutboxEntry& a, const SealedOutboxEntry& b) {
              return a.pair_seq < b.pair_seq;
            });
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE sealed_chain_out SET receipted_seq = max("
                  "receipted_seq, ?) WHERE recipient_key = ?"));
  st.Bind(1, Clamp(pair_seq));
  st.BindBlob(2, recipient);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return out;
}

Result<uint64_t> WriteTxn::SealedOutboxDropThrough(const PublicKey& recipient,
                                                   uint64_t pair_seq) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM sealed_outbox WHERE recipient_key = ? AND "
                  "pair_seq <= ?"));
  st.BindBlob(1, recipient);
  st.Bind(2, Clamp(pair_seq));
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return static_cast<uint64_t>(sqlite3_changes(db_.handle()));
}

Result<SealedChainOut> Reader::SealedChainOutGet(const PublicKey& recipient) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT last_seq, last_hash, receipted_seq FROM "
                   "sealed_chain_out WHERE recipient_key = ?"));
  st.BindBlob(1, recipient);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  SealedChainOut out;
  if (!row) return out;
  if (!st.FixedBlob(1, out.last_hash)) {
    return Corrupt("sealed_chain_out holds a malformed hash");
  }
  out.last_seq = Count(st, 0);
  out.receipted_seq = Count(st, 2);
  return out;
}

Result<std::vector<SealedOutboxEntry>> Reader::SealedOutbox(
    const PublicKey& recipient) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT pair_seq, up_to_seq, envelope, sent, "
                   "queued_at_hub, created_at, reseal FROM sealed_outbox "
                   "WHERE recipient_key = ? ORDER BY pair_seq"));
  st.BindBlob(1, recipient);
  std::vector<SealedOutboxEntry> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SealedOutboxEntry e;
    e.recipient_key = recipient;
    e.pair_seq = Count(st, 0);
    e.up_to_seq = Count(st, 1);
    e.envelope = st.Blob(2);
    e.sent = st.Text(3);
    e.queued_at_hub = st.Int(4) != 0;
    e.created_at = st.Int(5);
    e.reseal = st.Blob(6);  // NULL reads as empty
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<SealedOutboxCount>> Reader::SealedOutboxCounts() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT c.recipient_key, c.receipted_seq, "
                   "(SELECT count(*) FROM sealed_outbox o WHERE "
                   "o.recipient_key = c.recipient_key), (SELECT count(*) "
                   "FROM sealed_outbox o WHERE o.recipient_key = "
                   "c.recipient_key AND o.queued_at_hub = 1) FROM "
                   "sealed_chain_out c"));
  std::vector<SealedOutboxCount> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SealedOutboxCount c;
    if (!st.FixedBlob(0, c.recipient_key)) {
      return Corrupt("sealed_chain_out holds a malformed key");
    }
    c.receipted_seq = Count(st, 1);
    c.awaiting_receipt = Count(st, 2);
    c.queued_at_hub = Count(st, 3);
    out.push_back(c);
  }
  return out;
}

Result<std::vector<SealedChainIn>> Reader::SealedChainsIn() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare(std::string("SELECT ") + kChainInColumns +
                                 " FROM sealed_chain_in"));
  std::vector<SealedChainIn> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SealedChainIn c;
    if (!ReadChainIn(st, c)) {
      return Corrupt("sealed_chain_in holds a malformed key or hash");
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace caravan::store
