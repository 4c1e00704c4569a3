#pragma once
// Private to daemon/store: the database schema as an ordered list of
// migrations, and the code that brings a database file up to date.
//
// Migration N runs once, inside the same transaction that records N in the
// schema_version table, so a crash mid-migration leaves the previous
// version intact. A database newer than this code is refused: an old
// caravand must never write to tables whose meaning it does not know.
// The tables are described in daemon/store/schema.md.

#include <cstdint>

#include "daemon/store/sqlite_db.h"
#include "protocol/status.h"

namespace caravan::store::internal {

// The newest schema version this code knows.
inline constexpr int64_t kSchemaVersion = 22;

// 'Crvn': PRAGMA application_id of every caravan store, so `file` and we can
// tell a caravan database from any other SQLite file.
inline constexpr int64_t kApplicationId = 0x4372766e;

// Brings the writer's connection up to kSchemaVersion.
// Failure: InvalidInput for a file that is not a caravan store,
// Unavailable for a schema newer than this code (message says so),
// or the SQLite error of a failed migration (nothing is changed then).
Status Migrate(Database& db, int64_t now);

// Migration 15 (record_forms_migration.cc): records rebuilt in the shape
// of record_forms.h. Runs inside Migrate's transaction.
Status MigrateRecordForms(Database& db);

// Migration 18 (batch_leaves_migration.cc): complete batches' leaf hashes
// in rows of 16 (batch_tree.h). Runs inside Migrate's transaction.
Status MigrateBatchLeaves(Database& db);

// Migration 21 (index_levels_migration.cc): ids, values and addresses
// found through the leveled key tables of index_levels.h. Runs inside
// Migrate's transaction.
Status MigrateIndexLevels(Database& db);

// `batches` and `batch_leaves` in the shape RecordForms writes today
// (migration 18), for the migrations that make them: migration 15 writes
// through today's RecordForms, so it makes these tables in today's shape,
// and later reshapes act only on an older one (schema.md, "Versions and
// migrations"). Change it together with a migration of the older shape.
extern const char* const kBatchTables;
// Whether `batches` is in a shape before migration 18 (a `leaves` blob).
Result<bool> BatchesKeepLeafBlob(Database& db);

// For read-only connections: the schema must be exactly kSchemaVersion.
Status CheckSchemaVersion(Database& db);

}  // namespace caravan::store::internal
