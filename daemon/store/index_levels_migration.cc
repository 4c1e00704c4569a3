// Migration 21: indicators found through the leveled key tables of
// index_levels.h instead of indexes on the indicators table (issue 17).
//
// The table is rebuilt: SQLite cannot drop a column's UNIQUE constraint
// (the id's, whose index took a random insert per row) in place. The
// rebuild also drops the four IP columns (ip_family, ip_prefix, ip_first,
// ip_last): ip_keys holds what queries need, and an address's key is
// derived from its type and value when it is deleted. warninglist_hits is
// rebuilt without its foreign key to indicators (id), which needs a
// unique index on the id; a delete removes an indicator's hit itself
// (WriteTxn::DeleteIndicator).
//
// All inside Migrate's one transaction, foreign keys off (a crash leaves
// version 20 untouched); legacy_alter_table keeps the renames from
// rewriting the references in indicator_tags and the log view, which then
// name the new table.

#include "daemon/store/index_levels.h"
#include "daemon/store/schema.h"

namespace caravan::store::internal {
namespace {

constexpr const char* kMigration = R"sql(
ALTER TABLE indicators RENAME TO indicators_v20;
CREATE TABLE indicators (
  rid INTEGER PRIMARY KEY AUTOINCREMENT,
  id BLOB NOT NULL CHECK (length(id) = 32),
  type INTEGER NOT NULL,
  value TEXT NOT NULL,
  origin BLOB NOT NULL,
  origin_country TEXT NOT NULL,
  origin_name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  variant INTEGER NOT NULL,
  record_seq INTEGER NOT NULL,
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
  stored_at INTEGER NOT NULL
);
INSERT INTO indicators (rid, id, type, value, origin, origin_country,
  origin_name, revision, variant, record_seq, tlp, confidence, description,
  created, valid_until, first_seen, last_seen, reshare, revoked,
  revoke_reason, received_from, quarantined, warning, stored_at)
  SELECT rid, id, type, value, origin, origin_country, origin_name,
    revision, variant, record_seq, tlp, confidence, description, created,
    valid_until, first_seen, last_seen, reshare, revoked, revoke_reason,
    received_from, quarantined, warning, stored_at
  FROM indicators_v20 ORDER BY rid;

CREATE TABLE id_keys_0 (k BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (k, rid)) WITHOUT ROWID;
CREATE TABLE id_keys_1 (k BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (k, rid)) WITHOUT ROWID;
CREATE TABLE value_keys_0 (k BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (k, rid)) WITHOUT ROWID;
CREATE TABLE value_keys_1 (k BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (k, rid)) WITHOUT ROWID;
CREATE TABLE ip_keys_0 (family INTEGER NOT NULL, prefix INTEGER NOT NULL,
  first BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (family, prefix, first, rid)) WITHOUT ROWID;
CREATE TABLE ip_keys_1 (family INTEGER NOT NULL, prefix INTEGER NOT NULL,
  first BLOB NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (family, prefix, first, rid)) WITHOUT ROWID;
INSERT INTO id_keys_1 (k, rid)
  SELECT substr(id, 1, 8), rid FROM indicators_v20 ORDER BY 1, 2;
INSERT INTO value_keys_1 (k, rid)
  SELECT caravan_value_key(value), rid FROM indicators_v20
  WHERE ip_family IS NULL ORDER BY 1, 2;
INSERT INTO ip_keys_1 (family, prefix, first, rid)
  SELECT ip_family, ip_prefix, ip_first, rid FROM indicators_v20
  WHERE ip_family IS NOT NULL ORDER BY 1, 2, 3, 4;

-- rids are never reused: the counter moves with the table.
DELETE FROM sqlite_sequence WHERE name = 'indicators';
UPDATE sqlite_sequence SET name = 'indicators' WHERE name = 'indicators_v20';
DROP TABLE indicators_v20;
CREATE INDEX indicators_type ON indicators (type);
CREATE INDEX indicators_origin ON indicators (origin_country);
CREATE INDEX indicators_created ON indicators (created);
CREATE INDEX indicators_retention ON indicators (origin_country, stored_at)
  WHERE received_from IS NOT NULL;
CREATE INDEX indicators_quarantined ON indicators (quarantined)
  WHERE quarantined = 1;

CREATE TABLE warninglist_hits_v21 (
  id BLOB PRIMARY KEY CHECK (length(id) = 32),
  list TEXT NOT NULL,
  entry TEXT NOT NULL,
  forced INTEGER NOT NULL CHECK (forced IN (0, 1)),
  flagged_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO warninglist_hits_v21 (id, list, entry, forced, flagged_at)
  SELECT id, list, entry, forced, flagged_at FROM warninglist_hits;
DROP TABLE warninglist_hits;
ALTER TABLE warninglist_hits_v21 RENAME TO warninglist_hits;
)sql";

}  // namespace

Status MigrateIndexLevels(Database& db) {
  CARAVAN_RETURN_IF_ERROR(RegisterValueKeyFunction(db));
  CARAVAN_RETURN_IF_ERROR(db.Exec("PRAGMA legacy_alter_table = ON"));
  Status s = db.Exec(kMigration);
  Status off = db.Exec("PRAGMA legacy_alter_table = OFF");
  if (!s.ok()) return s;
  return off;
}

}  // namespace caravan::store::internal
