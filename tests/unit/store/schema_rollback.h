#pragma once
// SQL that takes a store back to schema version 6 (unacked_pages, issue 14),
// for the tests that then roll it further back and check an older
// migration. Every migration after 6 undoes itself here, so a new one is
// added in one place.

namespace caravan::store::testing {

// Migration 22 undone: two key levels, level 1 holding what levels 1 and 2
// held.
#define CARAVAN_ROLLBACK_TO_SCHEMA_21                                    \
  "INSERT INTO id_keys_2 SELECT * FROM id_keys_1;"                       \
  "INSERT INTO value_keys_2 SELECT * FROM value_keys_1;"                 \
  "INSERT INTO ip_keys_2 SELECT * FROM ip_keys_1;"                       \
  "DROP TABLE id_keys_1; DROP TABLE value_keys_1; DROP TABLE ip_keys_1;" \
  "ALTER TABLE id_keys_2 RENAME TO id_keys_1;"                           \
  "ALTER TABLE value_keys_2 RENAME TO value_keys_1;"                     \
  "ALTER TABLE ip_keys_2 RENAME TO ip_keys_1;"                           \
  "DELETE FROM schema_version WHERE version > 21;"

inline constexpr const char* kRollBackToSchema21 =
    CARAVAN_ROLLBACK_TO_SCHEMA_21;

// Migrations 22 and 21 undone: the indicators table with its UNIQUE id, its IP
// columns and the id, value and ip_prefix indexes of migration 19 again,
// no key tables, and warninglist_hits referencing indicators (id). The IP
// columns come back from ip_keys; ip_last (read by nothing, even then)
// comes back NULL.
#define CARAVAN_ROLLBACK_TO_SCHEMA_20                                        \
  CARAVAN_ROLLBACK_TO_SCHEMA_21                                              \
  "PRAGMA legacy_alter_table = ON;"                                          \
  "ALTER TABLE indicators RENAME TO indicators_v21;"                         \
  "CREATE TABLE indicators ("                                                \
  " rid INTEGER PRIMARY KEY AUTOINCREMENT,"                                  \
  " id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),"                        \
  " type INTEGER NOT NULL, value TEXT NOT NULL, origin BLOB NOT NULL,"       \
  " origin_country TEXT NOT NULL, origin_name TEXT NOT NULL,"                \
  " revision INTEGER NOT NULL, variant INTEGER NOT NULL,"                    \
  " record_seq INTEGER NOT NULL, tlp INTEGER NOT NULL,"                      \
  " confidence INTEGER NOT NULL, description TEXT NOT NULL,"                 \
  " created INTEGER NOT NULL, valid_until INTEGER NOT NULL,"                 \
  " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"                \
  " reshare INTEGER NOT NULL, revoked INTEGER NOT NULL,"                     \
  " revoke_reason TEXT NOT NULL, received_from TEXT,"                        \
  " quarantined INTEGER NOT NULL, warning INTEGER NOT NULL,"                 \
  " ip_family INTEGER CHECK (ip_family IN (4, 6)), ip_prefix INTEGER,"       \
  " ip_first BLOB, ip_last BLOB, stored_at INTEGER NOT NULL);"               \
  "INSERT INTO indicators SELECT i.rid, i.id, i.type, i.value, i.origin,"    \
  " i.origin_country, i.origin_name, i.revision, i.variant, i.record_seq,"   \
  " i.tlp, i.confidence, i.description, i.created, i.valid_until,"           \
  " i.first_seen, i.last_seen, i.reshare, i.revoked, i.revoke_reason,"       \
  " i.received_from, i.quarantined, i.warning, k.family, k.prefix, k.first," \
  " NULL, i.stored_at FROM indicators_v21 i LEFT JOIN (SELECT * FROM"        \
  " ip_keys_0 UNION ALL SELECT * FROM ip_keys_1) k ON k.rid = i.rid"         \
  " ORDER BY i.rid;"                                                         \
  "DELETE FROM sqlite_sequence WHERE name = 'indicators';"                   \
  "UPDATE sqlite_sequence SET name = 'indicators'"                           \
  " WHERE name = 'indicators_v21';"                                          \
  "DROP TABLE indicators_v21;"                                               \
  "CREATE INDEX indicators_value ON indicators (value, type)"                \
  " WHERE ip_family IS NULL;"                                                \
  "CREATE INDEX indicators_type ON indicators (type);"                       \
  "CREATE INDEX indicators_origin ON indicators (origin_country);"           \
  "CREATE INDEX indicators_created ON indicators (created);"                 \
  "CREATE INDEX indicators_retention ON indicators (origin_country,"         \
  " stored_at) WHERE received_from IS NOT NULL;"                             \
  "CREATE INDEX indicators_ip_prefix ON indicators (ip_family, ip_prefix,"   \
  " ip_first) WHERE ip_family IS NOT NULL;"                                  \
  "CREATE INDEX indicators_quarantined ON indicators (quarantined)"          \
  " WHERE quarantined = 1;"                                                  \
  "DROP TABLE id_keys_0; DROP TABLE id_keys_1;"                              \
  "DROP TABLE value_keys_0; DROP TABLE value_keys_1;"                        \
  "DROP TABLE ip_keys_0; DROP TABLE ip_keys_1;"                              \
  "CREATE TABLE warninglist_hits_v20 ("                                      \
  " id BLOB PRIMARY KEY CHECK (length(id) = 32)"                             \
  "   REFERENCES indicators (id) ON DELETE CASCADE,"                         \
  " list TEXT NOT NULL, entry TEXT NOT NULL,"                                \
  " forced INTEGER NOT NULL CHECK (forced IN (0, 1)),"                       \
  " flagged_at INTEGER NOT NULL) WITHOUT ROWID;"                             \
  "INSERT INTO warninglist_hits_v20 SELECT * FROM warninglist_hits;"         \
  "DROP TABLE warninglist_hits;"                                             \
  "ALTER TABLE warninglist_hits_v20 RENAME TO warninglist_hits;"             \
  "DELETE FROM schema_version WHERE version > 20;"

inline constexpr const char* kRollBackToSchema20 =
    CARAVAN_ROLLBACK_TO_SCHEMA_20;

// Migrations 22 to 20 undone: deliveries keyed by the 32-byte id again,
// as migration 1 made them.
#define CARAVAN_ROLLBACK_TO_SCHEMA_19                                      \
  CARAVAN_ROLLBACK_TO_SCHEMA_20                                            \
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

// Migrations 22 to 19 undone: the value index over every row and the
// index on (ip_family, ip_first) back, as migration 1 made them.
#define CARAVAN_ROLLBACK_TO_SCHEMA_18                                    \
  CARAVAN_ROLLBACK_TO_SCHEMA_19                                          \
  "DROP INDEX indicators_value;"                                         \
  "CREATE INDEX indicators_value ON indicators (value, type);"           \
  "CREATE INDEX indicators_ip_range ON indicators (ip_family, ip_first)" \
  " WHERE ip_family IS NOT NULL;"                                        \
  "DELETE FROM schema_version WHERE version > 18;"

inline constexpr const char* kRollBackToSchema18 = CARAVAN_ROLLBACK_TO_SCHEMA_18;

// Migrations 22 to 15 undone: the store at schema version 14 (17 and 18
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
