#pragma once
// SQL that takes a store back to schema version 6 (unacked_pages, issue 14),
// for the tests that then roll it further back and check an older
// migration. Every migration after 6 undoes itself here, so a new one is
// added in one place.

namespace caravan::store::testing {

// Migration 20 undone: deliveries keyed by the 32-byte id again, as
// migration 1 made them.
#define CARAVAN_ROLLBACK_TO_SCHEMA_19                                      \
  "CREATE TABLE deliveries_v19 ("                                          \
  " id BLOB NOT NULL CHECK (length(id) = 32),"                             \
  " peer TEXT NOT NULL,"                                                   \
  " revision INTEGER NOT NULL,"                                            \
  " variant INTEGER NOT NULL,"                                             \
  " delivered_at INTEGER NOT NULL,"                                        \
  " PRIMARY KEY (id, peer)) WITHOUT ROWID;"                                \
  "INSERT INTO deliveries_v19 SELECT i.id, d.peer, d.revision, d.variant," \
  " d.delivered_at FROM deliveries d JOIN indicators i ON i.rid = d.rid;"  \
  "DROP TABLE deliveries;"                                                 \
  "ALTER TABLE deliveries_v19 RENAME TO deliveries;"                       \
  "DELETE FROM schema_version WHERE version > 19;"

inline constexpr const char* kRollBackToSchema19 =
    CARAVAN_ROLLBACK_TO_SCHEMA_19;

// Migrations 20 and 19 undone: the value index over every row and the
// index on (ip_family, ip_first) back, as migration 1 made them.
#define CARAVAN_ROLLBACK_TO_SCHEMA_18                                    \
  CARAVAN_ROLLBACK_TO_SCHEMA_19                                          \
  "DROP INDEX indicators_value;"                                         \
  "CREATE INDEX indicators_value ON indicators (value, type);"           \
  "CREATE INDEX indicators_ip_range ON indicators (ip_family, ip_first)" \
  " WHERE ip_family IS NOT NULL;"                                        \
  "DELETE FROM schema_version WHERE version > 18;"

inline constexpr const char* kRollBackToSchema18 = CARAVAN_ROLLBACK_TO_SCHEMA_18;

// Migrations 20 to 15 undone: the store at schema version 14 (17 and 18
// only reshaped `batches`, which 15's undo drops, with 18's batch_leaves).
// Records in their disk form back to whole signed bytes: the rows the
// store tests write are kept raw (their bytes are not signed records), so
// `raw` is the old column.
#define CARAVAN_ROLLBACK_TO_SCHEMA_14                                    \
  /* Deliveries by id and the IP indexes of migration 1 (20, 19). */     \
  CARAVAN_ROLLBACK_TO_SCHEMA_18                                          \
  /* Compromise notices waiting for offline peers (migration 16). */     \
  "DROP TABLE pending_notices;"                                          \
  "DROP VIEW log;"                                                       \
  "CREATE TABLE records_v14 ("                                           \
  " seq INTEGER PRIMARY KEY AUTOINCREMENT,"                              \
  " id BLOB NOT NULL CHECK (length(id) = 32),"                           \
  " revision INTEGER NOT NULL CHECK (revision >= 1),"                    \
  " variant INTEGER NOT NULL CHECK (variant >= 0),"                      \
  " origin BLOB NOT NULL CHECK (length(origin) = 32),"                   \
  " origin_seq INTEGER NOT NULL,"                                        \
  " created INTEGER NOT NULL,"                                           \
  " signed_bytes BLOB NOT NULL,"                                         \
  " received_from TEXT,"                                                 \
  " stored_at INTEGER NOT NULL,"                                         \
  " superseded INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1))," \
  " UNIQUE (id, revision, variant));"                                    \
  "INSERT INTO records_v14 SELECT r.seq, i.id, r.revision, r.variant,"   \
  " i.origin, r.origin_seq, r.created, r.raw, r.received_from,"          \
  " r.stored_at, r.superseded"                                           \
  " FROM records r JOIN indicators i ON i.rid = r.rid;"                  \
  "DROP TABLE record_paths;"                                             \
  "DROP TABLE records;"                                                  \
  "DROP TABLE batches;"                                                  \
  "DROP TABLE batch_leaves;"                                             \
  "ALTER TABLE records_v14 RENAME TO records;"                           \
  "CREATE INDEX records_origin ON records (origin, origin_seq);"         \
  "CREATE VIEW log AS SELECT seq, id, revision, variant FROM records;"   \
  "DELETE FROM schema_version WHERE version > 14;"

inline constexpr const char* kRollBackToSchema14 = CARAVAN_ROLLBACK_TO_SCHEMA_14;

inline constexpr const char* kRollBackToSchema6 =
    CARAVAN_ROLLBACK_TO_SCHEMA_14
    // Forward secrecy: what a sealed batch needs to be sealed again.
    "ALTER TABLE sealed_outbox DROP COLUMN reseal;"
    // Hub accountability: chains and outbox.
    "DROP TABLE sealed_chain_in;"
    "DROP TABLE sealed_chain_out;"
    "DROP TABLE sealed_outbox;"
    // TAXII: the STIX ids clients posted.
    "DROP TABLE stix_ids;"
    // caravan audit --action / --id.
    "DROP INDEX audit_action;"
    "DROP INDEX audit_subject;"
    // Link key rotation: highest link serial per member.
    "DROP TABLE link_serials;"
    // Identity key rotation: the rotation statements held.
    "DROP TABLE identity_rotations;"
    // Member trust (issue 16): departed and compromised members.
    "DROP TABLE compromise_notices;"
    "DROP TABLE compromised_keys;"
    "DROP TABLE departed_members;"
    // The hub's prekey book.
    "DROP TABLE hub_prekey_book;"
    "DELETE FROM schema_version WHERE version > 6;";

}  // namespace caravan::store::testing
