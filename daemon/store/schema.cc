#include "daemon/store/schema.h"

#include <string>

namespace caravan::store::internal {
namespace {

struct Migration {
  int64_t version;
  const char* sql;                     // run first, when not null
  Status (*code)(Database&) = nullptr;  // then this, when not null
};

// Migration 1: everything. See schema.md for what each column means.
// Why these shapes:
//  * records.seq is the local log: AUTOINCREMENT so a number is never
//    reused after a retention delete, and the UNIQUE (id, revision, variant)
//    makes a re-received record a no-op (no second log entry: no relay
//    loops).
//  * indicators holds one current row per id; rid is AUTOINCREMENT so a
//    query cursor never points at a reused row number.
//  * The ip_* indexes are partial (non-IP rows are NULL) and serve the two
//    containment directions: (family, prefix, first) for "which networks
//    hold this address" (one exact probe per prefix length present) and
//    (family, first) for "what lies inside this network" (a range scan);
//    migration 19 dropped the second, the first serving both.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value ANY NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES
  ('origin_seq', 0),
  ('audit_head_seq', 0),
  ('audit_head_hash', zeroblob(32));

CREATE TABLE records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id BLOB NOT NULL CHECK (length(id) = 32),
  revision INTEGER NOT NULL CHECK (revision >= 1),
  variant INTEGER NOT NULL CHECK (variant >= 0),
  origin BLOB NOT NULL CHECK (length(origin) = 32),
  origin_seq INTEGER NOT NULL,
  created INTEGER NOT NULL,
  signed_bytes BLOB NOT NULL,
  received_from TEXT,
  stored_at INTEGER NOT NULL,
  UNIQUE (id, revision, variant)
);
CREATE INDEX records_origin ON records (origin, origin_seq);
CREATE VIEW log AS SELECT seq, id, revision, variant FROM records;

CREATE TABLE indicators (
  rid INTEGER PRIMARY KEY AUTOINCREMENT,
  id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),
  type INTEGER NOT NULL,
  value TEXT NOT NULL,
  origin BLOB NOT NULL,
  origin_country TEXT NOT NULL,
  origin_name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  variant INTEGER NOT NULL,
  record_seq INTEGER NOT NULL,  -- no FK: it would need one more index
  tlp INTEGER NOT NULL,
  confidence INTEGER NOT NULL,
  description TEXT NOT NULL,
  created INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  reshare INTEGER NOT NULL,
  revoked INTEGER NOT NULL,
  revoke_reason TEXT NOT NULL,
  received_from TEXT,
  quarantined INTEGER NOT NULL,
  warning INTEGER NOT NULL,
  ip_family INTEGER CHECK (ip_family IN (4, 6)),
  ip_prefix INTEGER,
  ip_first BLOB,
  ip_last BLOB,
  stored_at INTEGER NOT NULL
);
CREATE INDEX indicators_value ON indicators (value, type);
CREATE INDEX indicators_type ON indicators (type);
CREATE INDEX indicators_origin ON indicators (origin_country);
CREATE INDEX indicators_created ON indicators (created);
CREATE INDEX indicators_retention ON indicators (origin_country, stored_at)
  WHERE received_from IS NOT NULL;
CREATE INDEX indicators_ip_prefix ON indicators (ip_family, ip_prefix, ip_first)
  WHERE ip_family IS NOT NULL;
CREATE INDEX indicators_ip_range ON indicators (ip_family, ip_first)
  WHERE ip_family IS NOT NULL;
CREATE INDEX indicators_quarantined ON indicators (quarantined)
  WHERE quarantined = 1;

CREATE TABLE indicator_tags (
  rid INTEGER NOT NULL REFERENCES indicators (rid) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (rid, tag)
) WITHOUT ROWID;
CREATE INDEX indicator_tags_tag ON indicator_tags (tag, rid);

CREATE TABLE sightings (
  sid INTEGER PRIMARY KEY,
  id BLOB NOT NULL CHECK (length(id) = 32),
  time INTEGER NOT NULL,
  note TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX sightings_id ON sightings (id, time);

CREATE TABLE roster (
  name TEXT PRIMARY KEY,
  country TEXT NOT NULL,
  identity_key BLOB NOT NULL UNIQUE CHECK (length(identity_key) = 32),
  endpoint TEXT NOT NULL,
  added_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE peer_state (
  peer TEXT PRIMARY KEY,
  decided_seq INTEGER NOT NULL DEFAULT 0,
  acked_seq INTEGER NOT NULL DEFAULT 0,
  inbound_seq INTEGER NOT NULL DEFAULT 0,
  last_contact INTEGER NOT NULL DEFAULT 0,
  bytes_sent INTEGER NOT NULL DEFAULT 0,
  bytes_received INTEGER NOT NULL DEFAULT 0,
  link_state TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE deliveries (
  id BLOB NOT NULL CHECK (length(id) = 32),
  peer TEXT NOT NULL,
  revision INTEGER NOT NULL,
  variant INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,
  PRIMARY KEY (id, peer)
) WITHOUT ROWID;

CREATE TABLE withheld (
  peer TEXT NOT NULL,
  seq INTEGER NOT NULL REFERENCES records (seq) ON DELETE CASCADE,
  rule TEXT NOT NULL,
  retry_at INTEGER NOT NULL,
  withheld_at INTEGER NOT NULL,
  PRIMARY KEY (peer, seq)
) WITHOUT ROWID;
CREATE INDEX withheld_seq ON withheld (seq);
CREATE INDEX withheld_due ON withheld (retry_at) WHERE retry_at > 0;

CREATE TABLE quota (
  country TEXT NOT NULL,
  day INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (country, day)
) WITHOUT ROWID;

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  peer TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_peer ON audit (peer);
CREATE INDEX audit_time ON audit (time);
)sql";

// Migration 2: the hub queue (hub mode, docs/federation.md). A hub holds
// sealed envelopes between sender and recipient; it can read only what is
// here besides the opaque envelope. hub_seq is AUTOINCREMENT so a
// recipient's acknowledgement ("through hub_seq N") never covers a reused
// number; envelope_id is UNIQUE so a resent envelope is not queued twice.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE hub_queue (
  hub_seq INTEGER PRIMARY KEY AUTOINCREMENT,
  envelope_id BLOB NOT NULL UNIQUE CHECK (length(envelope_id) = 16),
  sender TEXT NOT NULL,
  sender_key BLOB NOT NULL CHECK (length(sender_key) = 32),
  recipient_key BLOB NOT NULL CHECK (length(recipient_key) = 32),
  first_seq INTEGER NOT NULL,
  up_to_seq INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  stored_at INTEGER NOT NULL
);
CREATE INDEX hub_queue_recipient ON hub_queue (recipient_key, hub_seq);
CREATE INDEX hub_queue_sender ON hub_queue (sender_key);
)sql";

// Migration 3: warninglist hits (docs/warninglists.md). One row per
// indicator that matched a MISP warninglist when it was submitted or
// received. A row that is not forced keeps the indicator out of automatic
// sharing. The foreign key deletes the hit with its indicator (retention).
constexpr const char* kMigration3 = R"sql(
CREATE TABLE warninglist_hits (
  id BLOB PRIMARY KEY CHECK (length(id) = 32)
    REFERENCES indicators (id) ON DELETE CASCADE,
  list TEXT NOT NULL,
  entry TEXT NOT NULL,
  forced INTEGER NOT NULL CHECK (forced IN (0, 1)),
  flagged_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Migration 4: hub queue depth and hub counters (docs/metrics.md,
// `caravan peers list` on a hub). envelope_bytes is the envelope's size,
// written by HubEnqueue: reading length(envelope) would walk each
// envelope's overflow pages, and so would reading any column stored after
// the blob. So the recipient index is rebuilt to carry envelope_bytes:
// depth per recipient (count and bytes) is then read from the index alone,
// and the index still serves the queue in hub_seq order. hub_counters
// holds monotonic totals (stored, forwarded, refused by reason), updated
// in the transaction that stores, deletes or refuses an envelope.
constexpr const char* kMigration4 = R"sql(
ALTER TABLE hub_queue ADD COLUMN envelope_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE hub_queue SET envelope_bytes = length(envelope);
DROP INDEX hub_queue_recipient;
CREATE INDEX hub_queue_recipient_depth
  ON hub_queue (recipient_key, hub_seq, envelope_bytes);
CREATE TABLE hub_counters (
  event TEXT NOT NULL CHECK (event IN ('stored', 'forwarded', 'refused')),
  reason TEXT NOT NULL,
  envelopes INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (event, reason)
) WITHOUT ROWID;
)sql";

// Migration 5: records.superseded, 1 when the record is not its
// indicator's current one (indicators.record_seq). The sender skips such
// log entries (only current revisions leave, docs/policy.md); reading the
// flag with the log costs nothing, where asking the indicators table per
// entry cost about a sixth of a catch-up's rate. Set by InsertRecord, the
// only writer of current records; the UPDATE marks what older stores hold.
constexpr const char* kMigration5 = R"sql(
ALTER TABLE records ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0
  CHECK (superseded IN (0, 1));
UPDATE records SET superseded = 1
  WHERE seq NOT IN (SELECT record_seq FROM indicators);
)sql";

// Migration 6: unacked_pages, what each sent page of our log carried to a
// peer, written with the page's decision and deleted when the peer's
// acknowledgement is recorded. A daemon stopped after the peer committed a
// page but before it recorded the acknowledgement finds the page here when
// the peer's Hello says it holds it, and records the deliveries and the
// "share" audit then (a later revocation or withdrawal must reach that
// peer). `sent` is the page's SentRecord list (daemon/sync/unacked_page.h).
constexpr const char* kMigration6 = R"sql(
CREATE TABLE unacked_pages (
  peer TEXT NOT NULL,
  up_to_seq INTEGER NOT NULL,
  sent TEXT NOT NULL,
  PRIMARY KEY (peer, up_to_seq)
) WITHOUT ROWID;
)sql";

// Migration: hub accountability (docs/federation.md). sealed_chain_in is a
// recipient's view of each sender's chain of sealed envelopes (what it
// applied and the hub faults it saw); sealed_chain_out the head of our own
// chain to each recipient; sealed_outbox the sealed batches we sent via a
// hub and our recipient has not receipted yet (sent again after
// [hub] resend_after, or when its receipt asks), with the SentRecord list
// recorded as deliveries when the receipt comes.
constexpr const char* kMigrationSealedChains = R"sql(
CREATE TABLE sealed_chain_in (
  sender_key BLOB PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  last_hash BLOB NOT NULL,
  gaps INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0,
  broken INTEGER NOT NULL DEFAULT 0,
  last_fault_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE sealed_chain_out (
  recipient_key BLOB PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  last_hash BLOB NOT NULL,
  receipted_seq INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE sealed_outbox (
  recipient_key BLOB NOT NULL,
  pair_seq INTEGER NOT NULL,
  up_to_seq INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  sent TEXT NOT NULL,
  queued_at_hub INTEGER NOT NULL DEFAULT 0 CHECK (queued_at_hub IN (0, 1)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (recipient_key, pair_seq)
) WITHOUT ROWID;
)sql";

// Migration: stix_ids, the STIX ids TAXII clients posted for indicators
// (issue 19: a posted object keeps its id). caravan's own STIX id of an
// indicator is derived from its id (protocol/formats/stix.h); a client's
// id is another name for the same indicator, found by GET .../objects/ID/
// and exported in place of the derived one (the first posted wins, by
// rowid). A posted id, once mapped, keeps naming that indicator. Rows are
// small and few (one per posted object); retention leaves them (a mapping
// to an indicator no longer held finds nothing).
constexpr const char* kMigrationStixIds = R"sql(
CREATE TABLE stix_ids (
  stix_id TEXT NOT NULL UNIQUE CHECK (length(stix_id) BETWEEN 1 AND 256),
  id BLOB NOT NULL CHECK (length(id) = 32)
);
CREATE INDEX stix_ids_id ON stix_ids (id);
)sql";

// Migration: `caravan audit --action` and `--id PREFIX` read through an
// index each (a range of one action or of subjects starting with the
// prefix, in seq order) instead of walking the whole log.
constexpr const char* kMigrationAuditIndexes = R"sql(
CREATE INDEX audit_action ON audit (action, seq);
CREATE INDEX audit_subject ON audit (subject, seq);
)sql";

// Migration: forward secrecy (docs/federation.md, "Prekeys"). A sealed
// batch is sealed to its recipient's prekey; when the recipient has
// erased that prekey before the batch reached it, the sender seals the
// same batch again to the current one. `reseal` keeps what that needs:
// the previous envelope's hash (32 bytes) followed by the encoded Records
// message (our own records as we decided them; the sender holds them in
// its log anyway). NULL on rows written before: those are sent as they are.
constexpr const char* kMigrationSealedReseal = R"sql(
ALTER TABLE sealed_outbox ADD COLUMN reseal BLOB;
)sql";

// Migration: the highest link certificate serial seen per member identity
// (docs/federation.md, Link key rotation), so a link key rotated away stays
// refused after a restart. One row per member ever linked (few; never
// pruned: a member removed and added again keeps refusing its old keys).
constexpr const char* kMigrationLinkSerials = R"sql(
CREATE TABLE link_serials (
  identity_key BLOB PRIMARY KEY CHECK (length(identity_key) = 32),
  serial INTEGER NOT NULL CHECK (serial >= 0),
  seen_at INTEGER NOT NULL
);
)sql";

// Migration: identity key rotations (docs/federation.md, "Identity key
// rotation"): every rotation statement this node accepted or made, so
// records signed by a retired key before its rotation keep verifying and
// the statements can be relayed to members that were offline. A key is
// retired once and introduced once. Few rows; never pruned.
constexpr const char* kMigrationIdentityRotations = R"sql(
CREATE TABLE identity_rotations (
  old_key BLOB PRIMARY KEY CHECK (length(old_key) = 32),
  new_key BLOB NOT NULL UNIQUE CHECK (length(new_key) = 32),
  rotated_at INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  statement BLOB NOT NULL CHECK (length(statement) BETWEEN 1 AND 1024),
  member TEXT NOT NULL,
  accepted_at INTEGER NOT NULL
);
)sql";

// Migration: member trust (issue 16, docs/federation.md "Leaving" and
// "Compromise"; daemon/store/member_trust.cc). departed_members: identity
// keys removed from the roster (their records stay unless purged, and
// never leave again). compromised_keys: keys whose records created at or
// after `since` are no longer trusted (action 'quarantine' or 'flag'),
// never pruned, so a re-added member needs a new key. compromise_notices:
// the digests of peers' signed notices already applied (replay refusal).
// All small: one row per member or notice.
constexpr const char* kMigrationMemberTrust = R"sql(
CREATE TABLE departed_members (
  identity_key BLOB PRIMARY KEY CHECK (length(identity_key) = 32),
  name TEXT NOT NULL,
  removed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE compromised_keys (
  identity_key BLOB PRIMARY KEY CHECK (length(identity_key) = 32),
  since INTEGER NOT NULL,
  declared_at INTEGER NOT NULL,
  declared_by BLOB NOT NULL CHECK (length(declared_by) = 32),
  name TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('quarantine', 'flag'))
) WITHOUT ROWID;
CREATE TABLE compromise_notices (
  digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
  issuer BLOB NOT NULL CHECK (length(issuer) = 32),
  compromised BLOB NOT NULL CHECK (length(compromised) = 32),
  since INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Migration: the hub's prekey book (docs/federation.md "Prekeys";
// daemon/store/hub_prekey_book.cc). A hub keeps each member's signed
// prekey statements so that, restarted, it serves an offline member's
// current prekey to senders (without it they wait until the member
// reconnects). At most kHubPrekeysPerOwner rows per owner (the newest
// ids) and kMaxHubPrekeyRows in all; expired rows are pruned. The bytes
// are re-verified (signature, roster, expiry) before a row is served.
constexpr const char* kMigrationHubPrekeyBook = R"sql(
CREATE TABLE hub_prekey_book (
  owner_key BLOB NOT NULL CHECK (length(owner_key) = 32),
  prekey_id INTEGER NOT NULL CHECK (prekey_id >= 1),
  not_after INTEGER NOT NULL,
  statement BLOB NOT NULL CHECK (length(statement) BETWEEN 1 AND 1024),
  stored_at INTEGER NOT NULL,
  PRIMARY KEY (owner_key, prekey_id)
) WITHOUT ROWID;
)sql";

// Migration 16: compromise notices this node issued that wait for a peer
// (docs/federation.md "Compromise"; daemon/store/pending_notices.cc).
// Without it a notice for an offline peer lived in memory and was lost on
// a restart or on the identity rotation's in-process reload. One row per (peer, notice), at most
// kMaxPendingNotices in all; a row goes when the peer confirmed receipt.
constexpr const char* kMigrationPendingNotices = R"sql(
CREATE TABLE pending_notices (
  peer TEXT NOT NULL CHECK (length(peer) BETWEEN 1 AND 256),
  digest BLOB NOT NULL CHECK (length(digest) = 32),
  notice BLOB NOT NULL CHECK (length(notice) BETWEEN 1 AND 512),
  queued_at INTEGER NOT NULL,
  PRIMARY KEY (peer, digest)
) WITHOUT ROWID;
)sql";

// Migration 17: `batches` with `top` before `leaves`. SQLite keeps a row's
// columns in order and a blob that overflows its page continues on a
// chain of overflow pages, so reaching a column after `leaves` (160 KB for
// a 5000-leaf batch) walked that chain: every record read alone (a query
// row) read 40 pages to get its batch's `top`. Rebuilt, not altered
// (SQLite cannot move a column); a few thousand rows at 10M records.
constexpr const char* kMigrationBatchColumnOrder = R"sql(
CREATE TABLE batches_v17 (
  bid INTEGER PRIMARY KEY,
  root_signature BLOB NOT NULL UNIQUE CHECK (length(root_signature) = 64),
  tree_size INTEGER NOT NULL CHECK (tree_size >= 1),
  held INTEGER NOT NULL DEFAULT 0,
  salt_seed BLOB CHECK (salt_seed IS NULL OR length(salt_seed) = 32),
  top BLOB,
  leaves BLOB
);
INSERT INTO batches_v17 (bid, root_signature, tree_size, held, salt_seed,
                         top, leaves)
  SELECT bid, root_signature, tree_size, held, salt_seed, top, leaves
  FROM batches ORDER BY bid;
DROP TABLE batches;
ALTER TABLE batches_v17 RENAME TO batches;
)sql";

// Migration 17 reshapes a `batches` that older code made; one made by
// migration 15 with today's code (a version-14 store converted now) is in
// the shape of migration 18 already.
Status MigrateBatchColumnOrder(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool old_shape, BatchesKeepLeafBlob(db));
  return old_shape ? db.Exec(kMigrationBatchColumnOrder) : Status::Ok();
}

// Migration 19: two fewer indexes an address is inserted into at a random
// place (issue 17: at 10M stored each random insert is a page read and
// a page written per commit; bulk submit at 10M rose from 13.7k to 19.7k
// indicators/s). The value index keeps only the types without IP
// columns: an address or network is found exactly by the ip_prefix index
// (ip_family, ip_prefix, ip_first), which also serves "what lies inside
// a network" as one range per prefix length present, so the index on
// (ip_family, ip_first) alone goes.
constexpr const char* kMigrationIpIndexes = R"sql(
DROP INDEX IF EXISTS indicators_ip_range;
DROP INDEX IF EXISTS indicators_value;
CREATE INDEX indicators_value ON indicators (value, type)
  WHERE ip_family IS NULL;
)sql";

// Migration 20: deliveries keyed by the indicator's row, not its 32-byte
// id (issue 17). A sender records one delivery per record a peer
// acknowledged; keyed by the id, each landed at a random place of a
// B-tree as large as the store (at 10M, a page dirtied per record per
// commit); keyed by `rid` they arrive in about the order the log was
// written, and a row is 25 bytes, not 60. Deliveries of an id the store
// no longer holds are dropped: there is no row to key them by and
// nothing left to revoke (a delete removes the deliveries it knows of;
// schema.md names the one case this changes).
constexpr const char* kMigrationDeliveriesByRow = R"sql(
CREATE TABLE deliveries_v20 (
  rid INTEGER NOT NULL,
  peer TEXT NOT NULL,
  revision INTEGER NOT NULL,
  variant INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,
  PRIMARY KEY (rid, peer)
) WITHOUT ROWID;
INSERT INTO deliveries_v20 (rid, peer, revision, variant, delivered_at)
  SELECT i.rid, d.peer, d.revision, d.variant, d.delivered_at
  FROM deliveries d JOIN indicators i ON i.id = d.id
  ORDER BY i.rid, d.peer;
DROP TABLE deliveries;
ALTER TABLE deliveries_v20 RENAME TO deliveries;
)sql";

// Migration 22: a middle key level (index_levels.h). What migration 21 made
// level 1 is the big level now, level 2; level 1 starts empty and level 0
// keeps its keys. 21's own SQL fills id_keys_1 and friends, which this then
// renames, so a store of any version ends in the same shape. A rename
// rewrites no row: the migration costs the same at any size.
constexpr const char* kMigrationKeyLevel2 = R"sql(
ALTER TABLE id_keys_1 RENAME TO id_keys_2;
ALTER TABLE value_keys_1 RENAME TO value_keys_2;
ALTER TABLE ip_keys_1 RENAME TO ip_keys_2;
CREATE TABLE id_keys_1 (k BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (k, rid)) WITHOUT ROWID;
CREATE TABLE value_keys_1 (k BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (k, rid)) WITHOUT ROWID;
CREATE TABLE ip_keys_1 (family INTEGER NOT NULL, prefix INTEGER NOT NULL,
  first BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (family, prefix, first, rid)) WITHOUT ROWID;
)sql";

// Append new migrations here; never edit one that has shipped, except as
// schema.md ("Versions and migrations") says for a migration that writes
// through today's classes (15) and the reshapes after it (17, 18).
constexpr Migration kMigrations[] = {
    {1, kMigration1},
    {2, kMigration2},
    {3, kMigration3},
    {4, kMigration4},
    {5, kMigration5},
    {6, kMigration6},
    {7, kMigrationSealedChains},
    {8, kMigrationStixIds},
    {9, kMigrationAuditIndexes},
    {10, kMigrationSealedReseal},
    {11, kMigrationLinkSerials},
    {12, kMigrationIdentityRotations},
    {13, kMigrationMemberTrust},
    {14, kMigrationHubPrekeyBook},
    // Records in the shape of record_forms.h (schema.md, "records"): the
    // conversion decodes every record, so it is code, not SQL.
    {15, nullptr, MigrateRecordForms},
    {16, kMigrationPendingNotices},
    {17, nullptr, MigrateBatchColumnOrder},
    // Leaf hashes in rows of 16 (batch_leaves_migration.cc): `top` is
    // recomputed, so it is code.
    {18, nullptr, MigrateBatchLeaves},
    {19, kMigrationIpIndexes},
    {20, kMigrationDeliveriesByRow},
    // Leveled key tables instead of the id, value and address indexes
    // (index_levels.h); the value keys are hashes, computed in code.
    {21, nullptr, MigrateIndexLevels},
    {22, kMigrationKeyLevel2},
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion,
              "kSchemaVersion must equal the number of migrations");

Result<int64_t> StoredVersion(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t has_table,
      db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                  "AND name = 'schema_version'"));
  if (!has_table) return int64_t{0};
  return db.QueryInt("SELECT coalesce(max(version), 0) FROM schema_version");
}

Status RefuseNewer(const Database& db, int64_t version) {
  return Unavailable("database " + db.path() + " has schema version " +
                     std::to_string(version) + " but this caravand knows " +
                     "versions up to " + std::to_string(kSchemaVersion) +
                     "; refusing to open it (upgrade caravand)");
}

// A file with tables but without our application_id belongs to something
// else; migrating it would scribble on another program's data.
Status CheckOwnership(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(int64_t app_id,
                                 db.QueryInt("PRAGMA application_id"));
  if (app_id == kApplicationId) return Status::Ok();
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t objects, db.QueryInt("SELECT count(*) FROM sqlite_schema"));
  if (app_id == 0 && objects == 0) return Status::Ok();  // a new file
  return InvalidInput("database " + db.path() +
                      " is not a caravan store (application_id " +
                      std::to_string(app_id) + ")");
}

Status MigrateInTransaction(Database& db, int64_t now) {
  CARAVAN_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto fail = [&db](Status s) {
    (void)db.Exec("ROLLBACK");
    return s;
  };
  Result<int64_t> version = StoredVersion(db);
  if (!version.ok()) return fail(version.status());
  if (*version > kSchemaVersion) return fail(RefuseNewer(db, *version));
  if (*version < kSchemaVersion) {
    Status s = db.Exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
        "PRAGMA application_id = " +
        std::to_string(kApplicationId));
    if (!s.ok()) return fail(s);
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= *version) continue;
    Status s = m.sql != nullptr ? db.Exec(m.sql) : Status::Ok();
    if (s.ok() && m.code != nullptr) s = m.code(db);
    if (!s.ok()) {
      return fail(Status(s.code(), "migration " + std::to_string(m.version) +
                                       " failed: " + s.message()));
    }
    Result<internal::Statement> st = db.Prepare(
        "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)");
    if (!st.ok()) return fail(st.status());
    st->Bind(1, m.version);
    st->Bind(2, now);
    s = st->Run();
    if (!s.ok()) return fail(s);
  }
  return db.Exec("COMMIT");
}

}  // namespace

Status Migrate(Database& db, int64_t now) {
  CARAVAN_RETURN_IF_ERROR(CheckOwnership(db));
  // A migration that rebuilds a table drops the old one: with foreign keys
  // on, that would cascade into the tables referencing it. The pragma is a
  // no-op inside a transaction, so it is set around it.
  CARAVAN_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = OFF"));
  Status migrated = MigrateInTransaction(db, now);
  Status on = db.Exec("PRAGMA foreign_keys = ON");
  if (!migrated.ok()) return migrated;
  return on;
}

Status CheckSchemaVersion(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(int64_t version, StoredVersion(db));
  if (version > kSchemaVersion) return RefuseNewer(db, version);
  if (version < kSchemaVersion) {
    return Unavailable("database " + db.path() + " has schema version " +
                       std::to_string(version) + ", expected " +
                       std::to_string(kSchemaVersion) +
                       " (open it with the writer first to migrate)");
  }
  return Status::Ok();
}

}  // namespace caravan::store::internal
