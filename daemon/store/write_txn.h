#pragma once
// WriteTxn: everything the daemon can change in the store, available only
// inside a function passed to Store::Write (daemon/store/store.h).
//
// Each such function runs inside its own SAVEPOINT of a larger group-commit
// transaction: if it returns a non-ok Status, everything it did is rolled
// back and the other functions of the batch are unaffected. Its changes are
// durable only once the future returned by Store::Write is fulfilled ok.
//
// Ownership: the store owns the WriteTxn; a function must not keep the
// reference after it returns. Thread-safety: used only on the store's writer
// thread.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/merkle.h"
#include "daemon/store/hub_types.h"
#include "daemon/store/identity_rotation_row.h"
#include "daemon/store/member_trust.h"
#include "daemon/store/pending_notice_row.h"
#include "daemon/store/store_types.h"
#include "daemon/store/warninglist_hit.h"
#include "protocol/record_codec.h"
#include "protocol/status.h"

namespace caravan::store {

namespace internal {
class Database;
class IdKeyFilter;
class OriginSeqs;
class RecordForms;
}  // namespace internal

// Does for each row, on the calling thread, the part of InsertRecord that
// needs no database (decoding and re-encoding its signed bytes, packing the
// body, hashing its Merkle leaf, checking its proof against batch_leaves)
// and keeps it in RecordRow::prepared, so the store's one writer thread is
// left with the SQL. Call it once the rows are final. Any thread.
void PrepareRecords(std::span<RecordRow> rows);
// PrepareRecords for rows this node has just signed (SignBodies): each
// row's signed_bytes encode `records[i]`, and its batch_leaves are those
// of the batch they were signed in. The work their signer already did
// (decoding, the encoding check, leaf hashing) is not done again
// (internal::PrepareSignerForm; its preconditions are not checked). With
// not one record per row it is PrepareRecords.
void PrepareSignerRecords(std::span<RecordRow> rows,
                          std::vector<protocol::SignedRecord> records);
// Each batch's tree levels, computed once per batch across the calls
// that prepare one message's records.
struct BatchLevelsCache {
  std::map<const void*, std::shared_ptr<const crypto::MerkleLevels>> of_batch;
};
// What PrepareSignerRecords does for one record, for a caller that has no
// RecordRow yet: a receiver checking a message on its worker pool, so the
// writer thread is left with the SQL (RecordRow::prepared). The same
// preconditions, not checked: `signed_bytes` encode `record`, and
// `leaves` (when set) are its whole batch's leaf hashes, made with it.
std::shared_ptr<const internal::PreparedForm> PrepareReceivedForm(
    protocol::SignedRecord record, const std::vector<uint8_t>& signed_bytes,
    const std::array<uint8_t, 32>& origin,
    const std::optional<std::array<uint8_t, 32>>& salt_seed,
    const std::shared_ptr<const std::vector<crypto::MerkleHash>>& leaves,
    BatchLevelsCache& levels);

class WriteTxn {
 public:
  // `id_filter` holds every id key in `db` (id_key_filter.h); the
  // transaction adds the keys it writes.
  WriteTxn(internal::Database& db, internal::OriginSeqs& origin_seqs,
           internal::IdKeyFilter& id_filter, int64_t now);
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  // The time (Unix seconds) this batch is stamped with (stored_at, ...).
  int64_t now() const { return now_; }

  // Stores a record. New (id, revision, variant): stored, appended to the
  // log, and made the current view if it is a higher revision than the
  // current one (or the full variant 0 of the current revision when we held
  // only a redacted variant). Already held: kDuplicate with its log seq,
  // nothing changes. InvalidInput when a field breaks a limit, an IP
  // value does not parse, or the record contradicts the id's earlier
  // revisions (other type, value or origin).
  Result<InsertOutcome> InsertRecord(const RecordRow& row);
  // The same, for a caller that already read Current(row.id) in this
  // transaction (and wrote nothing for that id since): saves the lookup.
  Result<InsertOutcome> InsertRecord(const RecordRow& row,
                                     const std::optional<CurrentInfo>& current);

  // InsertRecord of a record whose id the caller found not held when it
  // read before this write (outside it): nullopt when a write in between
  // stored that id, so what the caller planned for it is stale; nothing
  // is written then.
  Result<std::optional<InsertOutcome>> InsertIfStillNew(const RecordRow& row);

  // The current view of `id`, nullopt if we hold none.
  Result<std::optional<CurrentInfo>> Current(const IndicatorId& id);
  // The highest log seq held (0 for an empty log), this transaction's
  // writes included.
  Result<uint64_t> LastLogSeq();

  // The canonical body of `id`'s current revision and its log entry,
  // nullopt if we hold none (the submitter compares content and builds
  // the next revision). The signature is not read.
  Result<std::optional<CurrentBody>> CurrentRecordBody(
      const IndicatorId& id);

  // The next sequence number for a record this node originates (1, 2, ...),
  // kept as used (KeepOriginSeqs). If the function fails, the number is
  // skipped, not handed out again (Store::ReserveOriginSeqs).
  Result<uint64_t> NextOriginSeq();
  // Reserves `n` consecutive origin sequence numbers at once and returns
  // the first (a bulk submit takes one block instead of one update per
  // record), kept as used. InvalidInput for n == 0.
  Result<uint64_t> ReserveOriginSeqs(uint64_t n);
  // Keeps origin sequence numbers up to `last` (reserved earlier with
  // Store::ReserveOriginSeqs) as used, so a store reopened goes on after
  // them. Call in the write that stores their records.
  Status KeepOriginSeqs(uint64_t last);

  // Appends to the hash-chained audit log; returns the entry's seq.
  // InvalidInput when a field exceeds kMaxAuditFieldBytes (detail:
  // kMaxAuditDetailBytes).
  Result<uint64_t> AppendAudit(const AuditEvent& event);
  // Appends several entries in order, reading and moving the chain head
  // once; returns the last entry's seq. All or nothing: one bad entry
  // fails the call before anything is written. InvalidInput when empty.
  Result<uint64_t> AppendAudits(std::span<const AuditEvent> events);

  Status AddSighting(const Sighting& sighting);

  // InvalidInput when the name or the identity key is already in the
  // roster, or a field is empty or too long.
  Status AddRosterMember(const RosterMember& member);
  // NotFound when no member has that name. Peer sync state is kept, so a
  // member removed and added again resumes where it stopped.
  Status RemoveRosterMember(std::string_view name);

  // Per-peer cursors; each only moves forward (a smaller value is ignored).
  Status AdvanceDecided(std::string_view peer, uint64_t seq);
  Status AdvanceAcked(std::string_view peer, uint64_t seq);
  // acked_seq to `seq`, but never past decided_seq: a peer's word on what
  // it committed counts only for what we decided for it.
  Status AdvanceAckedWithinDecided(std::string_view peer, uint64_t seq);
  Status AdvanceInbound(std::string_view peer, uint64_t sender_seq);
  // Sets last_contact and adds the byte counts.
  Status RecordContact(std::string_view peer, int64_t time,
                       uint64_t bytes_sent, uint64_t bytes_received);
  Status SetLinkState(std::string_view peer, std::string_view state);

  // Records that `peer` got (id, revision, variant). Keeps the highest
  // revision; a lower one than already recorded is ignored, and so is a
  // delivery of an id the store no longer holds (deleted meanwhile:
  // nothing is left to revoke or to explain).
  Status RecordDelivery(const Delivery& delivery);

  // Remembers that log entry `seq` was withheld from `peer` (replacing an
  // earlier entry for the same pair). InvalidInput if no such log entry.
  Status AddWithheld(const Withheld& withheld);
  // Forgets it (it was sent, or re-evaluated). Absent is not an error.
  Status RemoveWithheld(uint64_t seq, std::string_view peer);

  // Pages of our log sent to `peer` and not yet recorded as acknowledged
  // (schema.cc migration 6). `sent` is opaque here (daemon/sync encodes
  // it); a page decided again with the same end replaces the row.
  Status PutUnackedPage(std::string_view peer, uint64_t up_to_seq,
                        std::string_view sent);
  // Deletes the pages of `peer` ending at or before `up_to_seq`.
  Status DropUnackedPages(std::string_view peer, uint64_t up_to_seq);
  // Deletes and returns every page of `peer`, ascending by end.
  Result<std::vector<std::pair<uint64_t, std::string>>> TakeUnackedPages(
      std::string_view peer);

  // Records that a client posted STIX id `stix_id` for indicator `id`
  // (Reader::IndicatorOfStixId). A stix_id already mapped keeps its
  // indicator (nothing changes). InvalidInput for an id of 0 or over 256
  // bytes.
  Status PutStixId(std::string_view stix_id, const IndicatorId& id);
  // Adds `n` to the count for (country, day) and returns the new count.
  Result<uint64_t> AddQuota(std::string_view country, int64_t day,
                            uint64_t n);

  // NotFound when we hold no indicator `id`.
  Status SetQuarantined(const IndicatorId& id, bool quarantined);

  // Retention: deletes the indicator, all its records (and their withheld
  // entries), tags, deliveries and sightings. Log numbers are not reused.
  // Returns how many records were deleted; NotFound if none was held.
  Result<uint64_t> DeleteIndicator(const IndicatorId& id);

  // Hub mode (daemon/store/hub_queue.cc). Queues a sealed envelope: kStored
  // with its hub_seq; kDuplicate (nothing changes) when that envelope id is
  // already queued; kQueueFull (nothing changes) when `max_per_sender`
  // envelopes from its sender are queued. InvalidInput for an empty
  // envelope or sender, or a reversed range.
  Result<HubEnqueueOutcome> HubEnqueue(const HubEnvelope& envelope,
                                       uint64_t max_per_sender);
  // Deletes `recipient`'s queued envelopes with hub_seq <= `up_to_hub_seq`
  // (it committed them) and returns what was deleted (no envelope bytes),
  // by hub_seq. None is not an error.
  Result<std::vector<HubEnvelope>> HubRemoveDelivered(
      const PublicKey& recipient, uint64_t up_to_hub_seq);
  // Counts one refused envelope of `bytes` under `reason` (one of
  // kHubRefused*; InvalidInput for another) in hub_counters.
  Status HubCountRefused(std::string_view reason, uint64_t bytes);

  // Hub accountability (daemon/store/sealed_chain.cc). Recipient side:
  // `sender`'s chain as applied (zeros when none yet); moving it to
  // (seq, hash) once that envelope's records are stored; counting one
  // fault (kChain*; InvalidInput for another kind).
  Result<SealedChainIn> SealedChainInGet(const PublicKey& sender);
  Status SealedChainInAdvance(const PublicKey& sender, uint64_t seq,
                              const ChainDigest& hash);
  Status SealedChainInFault(const PublicKey& sender, std::string_view kind);
  // Sender side: a sealed batch enters the outbox and becomes the head of
  // our chain to its recipient (`hash` is its EnvelopeHash); the hub
  // acknowledged holding one; the recipient receipted every batch through
  // `pair_seq` (deleted, and returned with their SentRecord lists).
  Status SealedOutboxPut(const SealedOutboxEntry& entry,
                         const ChainDigest& hash);
  Status SealedOutboxQueued(const PublicKey& recipient, uint64_t pair_seq);
  // The batch `pair_seq` was sealed again (to another prekey of the
  // recipient): its new envelope and reseal data replace the old, it is
  // no longer held by the hub, and when it is our chain's head the head
  // takes its new hash.
  Status SealedOutboxResealed(const PublicKey& recipient, uint64_t pair_seq,
                              const std::vector<uint8_t>& envelope,
                              const std::vector<uint8_t>& reseal,
                              const ChainDigest& hash);
  Result<std::vector<SealedOutboxEntry>> SealedOutboxReceipted(
      const PublicKey& recipient, uint64_t pair_seq);
  // Chain restart (docs/federation.md): deletes every outbox row for
  // `recipient` through `pair_seq` without counting them receipted (their
  // records are decided and sealed again); returns how many.
  Result<uint64_t> SealedOutboxDropThrough(const PublicKey& recipient,
                                           uint64_t pair_seq);

  // The hub's prekey book (daemon/store/hub_prekey_book.cc). Keeps a
  // member's signed prekey statement the sync engine accepted: true when
  // stored, false when one with that (owner, id) is already held (nothing
  // changes). Only the owner's newest kHubPrekeysPerOwner ids stay.
  // InvalidInput for an empty or over-1-KiB statement, an id of 0 or above
  // INT64_MAX, or a book already holding kMaxHubPrekeyRows.
  Result<bool> HubPrekeyPut(const HubPrekeyRow& row);
  // Deletes the statements expired at `now` (not_after <= now) and every
  // malformed row; returns how many went.
  Result<uint64_t> HubPrekeyPrune(int64_t now);
  // Deletes one statement (the sync engine refused it on loading).
  Status HubPrekeyDelete(const PublicKey& owner, uint64_t prekey_id);

  // Warninglists (daemon/store/warninglist_hits.cc): records that the held
  // indicator `hit.id` matched a warninglist (replacing an earlier hit's
  // list and entry; forced once means forced) and sets its current row's
  // `warning` to "not forced". InvalidInput for an empty
  // list name; a constraint error when the indicator is not held.
  Status PutWarninglistHit(const WarninglistHit& hit);

  // Link key rotation (daemon/store/link_serials.cc): records that member
  // `identity` presented a link certificate with `serial`. Only ever
  // raises the stored serial (a lower or equal one changes nothing).
  // InvalidInput for a serial above INT64_MAX.
  Status RaiseLinkSerial(const PublicKey& identity, uint64_t serial);

  // Identity key rotation (daemon/store/identity_rotations.cc): keeps a
  // rotation statement KeyChains accepted. True when stored; false when a
  // statement for that old or new key is already held (nothing changes).
  // InvalidInput for an empty or over-1-KiB statement.
  Result<bool> PutIdentityRotation(const IdentityRotationRow& row);
  // Member trust (daemon/store/member_trust.cc, issue 16).
  // Records that member `m` left the roster (replacing an earlier row of
  // its key); ForgetDeparted undoes it when the key is added again.
  Status PutDeparted(const DepartedMember& m);
  Status ForgetDeparted(const PublicKey& key);
  // Records that `c.key` is compromised since `c.since`; a key already
  // recorded keeps the earlier since and never goes from quarantine to flag.
  Status PutCompromised(const CompromisedKey& c);
  // Quarantines the held indicators of `origin` whose current revision
  // was created at or after `since` (not yet quarantined); returns them.
  // With `until`: only created before it (a retired key signed nothing
  // after its rotation time: later revisions of its indicators are signed
  // by its successor and are not compromised).
  Result<std::vector<IndicatorId>> QuarantineOrigin(
      const PublicKey& origin, int64_t since,
      int64_t until = std::numeric_limits<int64_t>::max());
  // Deletes every indicator with a record of `origin` (DeleteIndicator:
  // records, revisions, deliveries, sightings); the audit stays. With
  // `count_only`, deletes nothing and counts what it would delete.
  Result<PurgeCounts> PurgeOrigin(const PublicKey& origin,
                                  bool count_only = false);
  // Remembers a peer's compromise notice by its digest: true when new,
  // false when it was already recorded (a replay; nothing changes).
  Result<bool> RecordCompromiseNotice(const std::array<uint8_t, 32>& digest,
                                      const PublicKey& issuer,
                                      const PublicKey& compromised,
                                      int64_t since, int64_t issued_at);

  // Departed members and compromised keys as this transaction sees them
  // (daemon/store/member_trust.cc): inbound records are quarantined on
  // arrival when a compromise covers them.
  Result<MemberTrust> GetMemberTrust();

  // Compromise notices waiting for a peer (daemon/store/pending_notices.cc,
  // migration 16). Put: true when queued, false when that notice already
  // waits for that peer; refused (kInvalidInput, this write rolled back)
  // past kMaxPendingNotices rows or for a notice or name out of bounds.
  Result<bool> PendingNoticePut(const PendingNoticeRow& row);
  // The peer confirmed the notice: its row goes (none: nothing happens).
  Status PendingNoticeDelete(std::string_view peer,
                             const std::array<uint8_t, 32>& digest);
  // Every notice waiting for `peer` goes (it left the roster); the count.
  Result<uint64_t> PendingNoticesForget(std::string_view peer);

  // The store rolled back the savepoint of a write function that failed:
  // what this object remembers of the rows written since is forgotten.
  void SavepointRolledBack();

  // New indicator rows written in this transaction, whose keys went to
  // level 0 (index_levels.h); the store merges the levels by it. Counts
  // rows a rolled-back savepoint undid too: a merge a little early is
  // harmless.
  int64_t level0_rows_added() const { return level0_rows_added_; }

 private:
  Status EnsurePeer(std::string_view peer);
  // How a caller of Insert knows that an id with no current row is new.
  enum class NewId {
    kLookedUpNow,  // InsertRecord(row) read it in this transaction just now
    kCallerSays,   // InsertRecord(row, nullopt): checked, a held id is a bug
    kMayBeHeld,    // InsertIfStillNew: checked, a held id is an answer
  };
  // InsertRecord; nullopt when `current` is nullopt but the id is held.
  // kMayBeHeld also orders the writes (see Insert's comment on order).
  Result<std::optional<InsertOutcome>> Insert(
      const RecordRow& row, const std::optional<CurrentInfo>& current,
      NewId why);
  // Insert, with a held id where a new one was expected an Internal error.
  Result<InsertOutcome> InsertChecked(const RecordRow& row,
                                      const std::optional<CurrentInfo>& current,
                                      NewId why);
  // The indicator's current row: a new one (replacing_rid 0; the caller
  // knows the id is not held) with its keys (index_levels.h), or the row
  // `replacing_rid` updated in place (its tags replaced). Returns the rid.
  Result<int64_t> WriteCurrent(const RecordRow& row, uint64_t seq,
                               int64_t replacing_rid);
  // The log seq the next appended record gets (AUTOINCREMENT's rule):
  // asked of SQLite once per transaction, then counted here.
  Result<uint64_t> NextLogSeq();
  // records.superseded = 1 for the record at `seq` (no longer current).
  Status MarkSuperseded(uint64_t seq);

  internal::Database& db_;
  internal::OriginSeqs& origin_seqs_;
  internal::IdKeyFilter& id_filter_;
  int64_t now_;
  std::unique_ptr<internal::RecordForms> forms_;  // the records' disk form
  // One more than the last record appended in this transaction; 0: not
  // known yet (ask SQLite).
  uint64_t next_log_seq_ = 0;
  int64_t level0_rows_added_ = 0;
};

}  // namespace caravan::store
