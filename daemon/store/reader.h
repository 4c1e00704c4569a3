#pragma once
// Reader: read-only access to the store over its own SQLite connection.
// Get one per thread from Store::OpenReader(). Thanks to WAL a Reader never
// blocks the writer and the writer never blocks it; each call sees one
// consistent snapshot (it runs inside its own read transaction) that
// includes every write whose future was fulfilled before the call began.
//
// Ownership: the caller owns the Reader; it may outlive the Store object
// (it only holds its own connection to the file).
// Thread-safety: none; use a Reader from one thread at a time.
//
// Every call returns Unavailable/Corrupt/RetryLater from SQLite failures
// (message names the statement), InvalidInput for a bad argument
// (e.g. limit 0 or above kMaxQueryLimit).

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/store/hub_types.h"
#include "daemon/store/member_trust.h"
#include "daemon/store/pending_notice_row.h"
#include "daemon/store/report_types.h"
#include "daemon/store/store_types.h"
#include "daemon/store/identity_rotation_row.h"
#include "daemon/store/warninglist_hit.h"
#include "protocol/status.h"

namespace caravan::store {

namespace internal {
class Database;
class RecordForms;
}

class Reader {
 public:
  // Opens a read-only connection to the store at `path`, which the writer
  // must already have migrated. Unavailable when the file cannot be opened
  // or its schema version is not the one this code knows.
  static Result<std::unique_ptr<Reader>> Open(const std::string& path,
                                              int busy_timeout_ms);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Current views matching `filter`, in cursor order, with tags. Each set
  // filter field is served by an index (see ExplainQuery).
  Result<QueryPage> Query(const QueryFilter& filter);
  // How many rows Query(filter) would return without its limit, counting
  // at most `cap` (one pass over the same index as Query, stopping at the
  // cap; a containment filter sorts all its hits first): "N more" after a
  // page.
  Result<uint64_t> CountMatching(const QueryFilter& filter, uint64_t cap);
  // SQLite's EXPLAIN QUERY PLAN lines for the statement Query would run.
  Result<std::vector<std::string>> ExplainQuery(const QueryFilter& filter);

  // The current view of one indicator whatever its flags; nullopt if none.
  Result<std::optional<IndicatorRow>> Get(const IndicatorId& id);
  // Ids held in [low, high] (byte order), ascending, at most `limit`
  // (1..kMaxQueryLimit): an id prefix's candidates (protocol/id_prefix.h),
  // one range scan of the id index.
  Result<std::vector<IndicatorId>> IdsInRange(const IndicatorId& low,
                                              const IndicatorId& high,
                                              size_t limit);
  // Ids of held indicators whose first bytes are `prefix` (1..32 bytes),
  // ascending, at most `limit`: one range scan of the indicators' id index.
  // TAXII finds an indicator by the UUID derived from its id this way.
  Result<std::vector<IndicatorId>> IdsWithPrefix(
      std::span<const uint8_t> prefix, size_t limit);
  // STIX ids a client posted for an indicator (schema.cc, "stix_ids"):
  // the indicator a posted id names, nullopt if none; and the first id
  // posted for an indicator, nullopt if none; and whether any is held.
  Result<std::optional<IndicatorId>> IndicatorOfStixId(
      std::string_view stix_id);
  Result<std::optional<std::string>> PostedStixId(const IndicatorId& id);
  Result<bool> HasPostedStixIds();
  // Runs `fn`, which calls this reader, in one read transaction: the
  // calls in it see one snapshot (taken at its first read), and SQLite
  // takes and drops its read lock once, not once per statement (65 of
  // the 159 profile samples of a submit plan's one look-up per value).
  // The transaction ends however `fn` ends; the result is fn's, or the
  // error of beginning. Not nestable. Keep `fn` short: a checkpoint cannot
  // pass a snapshot still open.
  template <typename Fn>
  auto InOneSnapshot(Fn&& fn) -> decltype(fn()) {
    if (Status s = BeginSnapshot(); !s.ok()) return s;
    struct End {
      Reader* reader;
      ~End() { reader->EndSnapshot(); }
    } end{this};
    return fn();
  }
  // The canonical body of `id`'s current revision and its log entry,
  // nullopt if we hold none (WriteTxn::CurrentRecordBody, read outside a
  // write).
  Result<std::optional<CurrentBody>> CurrentRecordBody(
      const IndicatorId& id);
  // Every record held for `id`, by revision then variant.
  Result<std::vector<StoredRecord>> GetRevisions(const IndicatorId& id);
  // NotFound when that exact record is not held.
  Result<std::vector<uint8_t>> GetRecordBytes(const IndicatorId& id,
                                              uint32_t revision,
                                              uint32_t variant);
  // The same record found by its log entry `seq` (IndicatorRow::record_seq):
  // a primary-key lookup instead of two index lookups (the id's and the
  // revision's), which a query pays per row. NotFound unless the entry at
  // `seq` is that exact record.
  Result<std::vector<uint8_t>> GetRecordBytesAt(uint64_t seq,
                                                const IndicatorId& id,
                                                uint32_t revision,
                                                uint32_t variant);
  // Log entries with seq > after_seq, ascending, at most `limit`, each
  // with its superseded flag.
  Result<std::vector<StoredRecord>> LogRange(uint64_t after_seq, size_t limit);
  // The same, read for sending to one peer: each entry comes as its
  // signed record already decoded (StoredRecord::signed_record; the bytes
  // only for a record kept raw), and an entry that peer signed or sent us
  // (never sent back to it) or a superseded one (never sent) comes with
  // neither, which spares expanding them on a catch-up from that peer,
  // where every entry is one.
  struct LogReader {
    std::string_view peer_name;
    PublicKey peer_key{};
  };
  Result<std::vector<StoredRecord>> LogRange(uint64_t after_seq, size_t limit,
                                             const LogReader& for_peer);
  // TAXII listings (daemon/feeds/taxii_listing.h): log entries with
  // seq > after_seq, ascending, at most `limit` (1..kMaxQueryLimit), each
  // joined in one statement (one snapshot) with what serving it needs:
  // its indicator's current view flags, revision 1's `created` and the
  // STIX id a client posted for it. Replaces a Get, a GetRevisions and a
  // PostedStixId per entry.
  struct ServableRecord {
    StoredRecord record;       // superseded is not filled in
    bool has_current = false;  // the indicator has a current view
    uint32_t current_revision = 0;
    uint32_t current_variant = 0;
    bool quarantined = false;
    bool warning = false;
    std::string origin_name;
    std::string origin_country;
    int64_t first_created = 0;  // `created` of its first record held
    std::optional<std::string> posted_stix_id;
  };
  Result<std::vector<ServableRecord>> ServableLogRange(uint64_t after_seq,
                                                       size_t limit);
  // (seq, stored_at) of log entries with seq > after_seq, ascending, at
  // most `limit` (1..kMaxQueryLimit): TAXII's date_added index, without
  // reading the records' bytes.
  struct LogTime {
    uint64_t seq = 0;
    int64_t stored_at = 0;
  };
  Result<std::vector<LogTime>> LogTimes(uint64_t after_seq, size_t limit);
  // Whole-store counts: walks the indicators (status, metrics).
  Result<Counts> GetCounts();
  // Counts::last_log_seq alone, one index probe (backlogs per peer).
  Result<uint64_t> LastLogSeq();

  // Audit entries matching `filter`, ascending by seq, up to its limit and
  // detail byte budget.
  Result<AuditPage> ReadAudit(const AuditFilter& filter);
  // Checks the whole hash chain against the head anchored in the meta
  // table. Ok: the number of entries. Corrupt naming the first bad seq
  // when an entry was changed, removed (from the middle or the end), or
  // its hash edited.
  Result<uint64_t> VerifyAuditChain();
  // `caravan report`: the record decisions audited in [since, until]
  // (Unix seconds), summed by SQL aggregates (daemon/store/report.cc).
  // InvalidInput when until < since or the groups pass a bound that only
  // a period of many years could reach.
  Result<ReportCounts> CountDecisions(int64_t since, int64_t until);

  Result<std::vector<RosterMember>> Roster();
  Result<std::optional<RosterMember>> RosterByKey(const PublicKey& key);

  Result<std::vector<PeerState>> PeerStates();
  // A peer never seen has all-zero state (peer name filled in).
  Result<PeerState> GetPeerState(std::string_view peer);

  // Who holds which revision of `id` ("who gets a revocation").
  Result<std::vector<Delivery>> Deliveries(const IndicatorId& id);
  Result<std::vector<Sighting>> Sightings(const IndicatorId& id);

  // Withheld entries whose embargo has ended (0 < retry_at <= now),
  // oldest retry_at first.
  Result<std::vector<Withheld>> WithheldDue(int64_t now, size_t limit);
  // Withheld entries for `peer` with seq > after_seq, ascending: what a
  // policy reload re-evaluates.
  Result<std::vector<Withheld>> WithheldForPeer(std::string_view peer,
                                                uint64_t after_seq,
                                                size_t limit);

  // The withheld entries of `peer` that wait for a time (retry_at > 0):
  // one walk of that peer's part of the withheld primary key.
  Result<DeferredSummary> DeferredForPeer(std::string_view peer);

  Result<uint64_t> QuotaCount(std::string_view country, int64_t day);

  // Retention: ids of indicators received from peers (not made here) whose
  // origin country is `country` and whose current revision was stored
  // before `before`.
  Result<std::vector<IndicatorId>> ReceivedBefore(std::string_view country,
                                                  int64_t before,
                                                  size_t limit);
  // Hub mode (daemon/store/hub_queue.cc): `recipient`'s queued envelopes
  // with hub_seq > after_hub_seq, ascending, at most `limit` (1..100000).
  Result<std::vector<HubEnvelope>> HubPending(const PublicKey& recipient,
                                              uint64_t after_hub_seq,
                                              size_t limit);
  // Envelopes queued in all (0 on a node that never was a hub).
  Result<uint64_t> HubQueued();
  // Envelopes and bytes queued per recipient, by recipient key; recipients
  // with nothing queued are absent. Read from the index
  // hub_queue_recipient_depth alone (never the envelopes).
  Result<std::vector<HubDepth>> HubQueueDepths();
  // The hub's totals since the store was created (hub_counters), ordered
  // by event then reason; empty on a node that never was a hub.
  Result<std::vector<HubCount>> HubCounters();
  // Hub accountability (daemon/store/sealed_chain.cc): the head of our
  // chain to `recipient` (zeros when none), the batches it has not
  // receipted (by pair seq), per-recipient outbox counts, and every
  // sender's chain as we applied it (with the faults seen).
  Result<SealedChainOut> SealedChainOutGet(const PublicKey& recipient);
  Result<std::vector<SealedOutboxEntry>> SealedOutbox(
      const PublicKey& recipient);
  Result<std::vector<SealedOutboxCount>> SealedOutboxCounts();
  Result<std::vector<SealedChainIn>> SealedChainsIn();

  // The hub's prekey book as stored (daemon/store/hub_prekey_book.cc):
  // the well-formed rows by owner, newest id first, unverified (the sync
  // engine checks each statement before serving it); malformed rows are
  // counted, never returned.
  Result<HubPrekeyBookRows> HubPrekeyBook();

  // The warninglist hit of `id` (daemon/store/warninglist_hits.cc), nullopt
  // when it matched none.
  Result<std::optional<WarninglistHit>> GetWarninglistHit(
      const IndicatorId& id);
  // Whether any indicator has a warninglist hit: when none has, callers
  // deciding many records skip the per-record lookup.
  Result<bool> HasWarninglistHits();

  // The highest link certificate serial seen per member identity
  // (daemon/store/link_serials.cc); the node seeds its link manager with
  // it at start.
  Result<std::map<PublicKey, uint64_t>> LinkSerials();

  // Every identity key rotation held, oldest rotation first
  // (daemon/store/identity_rotations.cc).
  Result<std::vector<IdentityRotationRow>> IdentityRotations();
  // Departed members and compromised keys (daemon/store/member_trust.cc).
  Result<MemberTrust> GetMemberTrust();
  // The peers we delivered an indicator of `origin` to whose current
  // revision was created at or after `since` (deliveries), sorted.
  Result<std::vector<std::string>> PeersHolding(const PublicKey& origin,
                                                int64_t since);

  // The compromise notices waiting for `peer`, oldest first
  // (daemon/store/pending_notices.cc); malformed rows are counted, never
  // returned. And how many wait for all peers together.
  Result<PendingNotices> PendingNoticesFor(std::string_view peer);
  Result<int64_t> PendingNoticeCount();

 private:
  explicit Reader(std::unique_ptr<internal::Database> db);
  Status BeginSnapshot();
  // Commits the snapshot's transaction, or rolls it back if that fails:
  // the connection is never left inside it.
  void EndSnapshot();

  std::unique_ptr<internal::Database> db_;
  // Inside InOneSnapshot: each call's own read transaction is the
  // snapshot's.
  bool in_snapshot_ = false;
  // Rebuilds signed records from their disk form (a batch's tree cached).
  std::unique_ptr<internal::RecordForms> forms_;
};

}  // namespace caravan::store
