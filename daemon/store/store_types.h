#pragma once
// Plain value types that go into and come out of the store (daemon/store):
// the decoded record the daemon hands to WriteTxn::InsertRecord, the current
// view of an indicator that Reader::Query returns, audit entries, roster
// members, per-peer sync state, and the filters of the read calls.
//
// Values only: copy freely, no thread-safety concerns. Times are Unix
// seconds UTC. Sequence numbers start at 1; 0 means "none yet".

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/ip_network.h"
#include "protocol/record_codec.h"

namespace caravan::store {

using protocol::IndicatorId;
using protocol::PublicKey;

namespace internal {
struct PreparedForm;  // record_forms.h
}

// Hard limits the store enforces on what it is asked to write, so a bug or
// a hostile peer cannot bloat the database through one row.
inline constexpr size_t kMaxSignedRecordBytes = 64 * 1024;
inline constexpr size_t kMaxNameBytes = 256;  // peer, country, origin name
inline constexpr size_t kMaxAuditFieldBytes = 1024;
inline constexpr size_t kMaxAuditDetailBytes = 64 * 1024;
inline constexpr size_t kMaxNoteBytes = 4096;
inline constexpr size_t kMaxQueryLimit = 10000;

// One decoded, already verified record, as the daemon hands it to the store.
struct RecordRow {
  protocol::RecordBody body;
  IndicatorId id{};                   // BLAKE2b-256(origin||type||value)
  std::vector<uint8_t> signed_bytes;  // opaque; 1..kMaxSignedRecordBytes
  // The salt seed of the record's batch (crypto/merkle.h) when the caller
  // knows it: this node signed the batch, or received it whole. The store
  // then keeps it once per batch instead of a salt per record. Private:
  // never sent (a forwarded record carries its own salt).
  std::optional<std::array<uint8_t, 32>> salt_seed;
  // Every leaf hash of the record's batch, in leaf order, when the caller
  // has them (the same cases): the store then keeps the batch's tree at
  // once instead of this record's path until the whole batch is held.
  std::shared_ptr<const std::vector<std::array<uint8_t, 32>>> batch_leaves;
  std::string origin_country;         // ISO 3166-1 alpha-2 of the origin
  std::string origin_name;            // roster name of the origin
  std::string received_from;          // peer name; empty = made locally
  bool quarantined = false;           // held for operator review
  bool warning = false;               // e.g. signature ok but policy warning
  // Set by PrepareRecords, PrepareSignerRecords or PrepareReceivedForm
  // (write_txn.h): the part of InsertRecord that needs no database, done
  // before the write. Used only while signed_bytes, body.origin, salt_seed
  // and batch_leaves are the ones it was made from; otherwise InsertRecord
  // does that work itself.
  std::shared_ptr<const internal::PreparedForm> prepared;
};

// An indicator's current revision as the submitter reads it: the
// canonical body bytes and the log entry holding them (log entries are
// never reused, so a different entry means the current view changed).
struct CurrentBody {
  std::vector<uint8_t> body;
  uint64_t record_seq = 0;
};

struct InsertOutcome {
  enum Kind { kInserted, kDuplicate };
  Kind kind = kInserted;
  // True when this record is now the current view of its indicator.
  bool became_current = false;
  // Local log sequence number of the record: the new one when inserted, the
  // one it already had when a duplicate.
  uint64_t log_seq = 0;
};

// The current view of one indicator, as seen inside a write transaction.
struct CurrentInfo {
  protocol::IndicatorType type = protocol::IndicatorType::kIpv4;
  std::string value;
  PublicKey origin{};
  uint32_t revision = 0;
  uint32_t variant = 0;
  bool revoked = false;
  bool quarantined = false;
  uint64_t record_seq = 0;  // log seq of the record that is current
  int64_t rid = 0;          // the indicator's row; its records name it
};

// One indicator's current view with its tags (Reader::Query).
struct IndicatorRow {
  uint64_t cursor = 0;  // stable row number; pass as QueryFilter::after
  IndicatorId id{};
  protocol::Indicator indicator;  // type, value, tlp, ..., tags, revoked
  PublicKey origin{};
  std::string origin_country;
  std::string origin_name;
  uint32_t revision = 0;
  uint32_t variant = 0;
  int64_t created = 0;
  std::optional<std::string> received_from;  // nullopt = local
  bool quarantined = false;
  bool warning = false;
  int64_t stored_at = 0;  // when the current revision was stored here
  uint64_t record_seq = 0;
};

enum class QuarantineFilter { kExclude, kInclude, kOnly };

// All set fields must match (AND). An empty filter lists everything
// (current, unrevoked, unquarantined), in cursor order.
struct QueryFilter {
  // Exact normalized value. Without `type`, a value that is an IPv4 or
  // IPv6 address or network finds only IP indicators (no other type's
  // normalized value reads as one).
  std::optional<std::string> value;
  std::optional<protocol::IndicatorType> type;
  std::optional<std::string> origin_country;
  std::optional<std::string> tag;
  std::optional<int64_t> since;  // created >= since
  // Indicators (ipv4/ipv6) whose network contains this one (an address
  // finds the networks that hold it, and itself).
  std::optional<protocol::IpNetwork> covering;
  // Indicators whose network lies inside this one (equal included).
  std::optional<protocol::IpNetwork> within;
  bool include_revoked = false;
  QuarantineFilter quarantine = QuarantineFilter::kExclude;
  uint64_t after = 0;  // keyset cursor: rows with cursor > after
  size_t limit = 100;  // 1..kMaxQueryLimit
};

struct QueryPage {
  std::vector<IndicatorRow> rows;
  // Cursor of the last row when the page is full (more may follow);
  // 0 when this was the last page.
  uint64_t next_after = 0;
};

// One stored signed record with its metadata (log, revisions).
struct StoredRecord {
  uint64_t seq = 0;  // local log sequence number
  IndicatorId id{};
  uint32_t revision = 0;
  uint32_t variant = 0;
  PublicKey origin{};
  uint64_t origin_seq = 0;
  int64_t created = 0;
  std::optional<std::string> received_from;
  int64_t stored_at = 0;
  std::vector<uint8_t> signed_bytes;
  // Reader::LogRange for a peer only: the signed record signed_bytes would
  // encode, already decoded (RecordForms::ExpandRecord, its limits
  // checked); signed_bytes is then empty. Unset for a record kept raw (its
  // bytes are there to decode) and for entries the sender never decides.
  std::optional<protocol::SignedRecord> signed_record;
  // Reader::LogRange only: the record is not its indicator's current one
  // (a later revision, or the full variant of its revision, is held).
  bool superseded = false;
};

struct Counts {
  uint64_t indicators = 0;  // current views (revoked and quarantined too)
  uint64_t records = 0;
  uint64_t quarantined = 0;
  uint64_t last_log_seq = 0;
  std::map<std::string, uint64_t> by_origin_country;  // indicators
};

// What the caller writes into the audit log.
struct AuditEvent {
  int64_t time = 0;
  std::string actor;    // "uid:1000", "peer:KZ-CERT", "node"
  std::string action;   // "submit", "share", "withhold", "accept", ...
  std::string subject;  // e.g. indicator id hex
  std::string peer;     // peer involved, empty if none
  std::string detail;   // JSON text
};

// What the audit log holds: the event plus its place in the hash chain.
struct AuditEntry {
  uint64_t seq = 0;
  AuditEvent event;
  std::array<uint8_t, 32> prev_hash{};
  std::array<uint8_t, 32> hash{};
};

struct AuditFilter {
  int64_t since = 0;    // time >= since
  int64_t until = 0;    // time <= until; 0 = no bound
  std::string action;   // exact, empty = any
  std::string subject_prefix;  // subjects starting with this; empty = any
  std::string actor;    // exact, empty = any
  std::string peer;     // exact, empty = any
  uint64_t after = 0;   // seq > after
  size_t limit = 1000;  // 1..kMaxQueryLimit
  // When not 0, the page ends after the entry whose detail brings the
  // page's detail bytes to this: a batch entry's detail can be 64 KB, so a
  // page of `limit` of them could pass a control frame's size.
  size_t max_detail_bytes = 0;
};

// One page of the audit log.
struct AuditPage {
  std::vector<AuditEntry> entries;
  bool more = false;  // entries matching the filter follow this page
};

struct Sighting {
  IndicatorId id{};
  int64_t time = 0;
  std::string note;
  std::string actor;
};

struct RosterMember {
  std::string name;
  std::string country;  // ISO 3166-1 alpha-2
  PublicKey identity_key{};
  std::string endpoint;  // "host:port", empty if the member only dials us
};

// Per-peer sync state. All sequence numbers only move forward.
struct PeerState {
  std::string peer;
  uint64_t decided_seq = 0;  // our log: decided for this peer up to here
  uint64_t acked_seq = 0;    // our log: peer committed up to here
  uint64_t inbound_seq = 0;  // peer's log: we committed up to here (Hello)
  int64_t last_contact = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  std::string link_state;  // free text: "up", "down", "backoff 30s", ...
};

struct Delivery {
  IndicatorId id{};
  std::string peer;
  uint32_t revision = 0;  // highest revision delivered
  uint32_t variant = 0;
  int64_t delivered_at = 0;
  // Our log seq of the record delivered, when the caller knows it (a
  // sender does): the indicator's row is then found through `records`
  // (an integer key) instead of by id. 0: by id.
  uint64_t record_seq = 0;
};

struct Withheld {
  uint64_t seq = 0;  // our log seq of the record
  std::string peer;
  std::string rule;      // the policy rule that withheld it
  int64_t retry_at = 0;  // embargo end; 0 = only re-run on policy reload
  int64_t withheld_at = 0;
};

// Records held back from one peer until a time (quota, embargo): what
// `caravan status` and `peers list` show as DEFERRED.
struct DeferredSummary {
  uint64_t records = 0;
  int64_t next_retry_at = 0;  // the earliest retry time; 0 with none
};

// The UTC day number of a Unix time, the key of the quota table.
inline int64_t UtcDay(int64_t unix_seconds) {
  return unix_seconds >= 0 ? unix_seconds / 86400
                           : -((-unix_seconds + 86399) / 86400);
}

}  // namespace caravan::store
