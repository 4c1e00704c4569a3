// Migration 18: a complete batch's leaf hashes in rows of 16
// (`batch_leaves`, batch_tree.h) instead of one blob on the batch's row,
// and `batches.complete` saying so.
//
// A query row reads its leaf's chunk alone. Out of one blob (160 KB for a
// 5000-leaf batch) SQLite's incremental blob read walked the chain of
// overflow pages from the blob's start to the chunk, about 20 page reads a
// row; a chunk row is one b-tree lookup. Chunks of 16 instead of 64
// leaves cost 15 hash compressions per path instead of 63, and `top`
// (the levels from the chunk level up) grows from n/32 to n/8 hashes:
// 3 bytes a record more.
//
// `top` depends on the chunk size, so it is recomputed from the leaf
// hashes (one compression per leaf), and the table is rebuilt (SQLite
// cannot drop a column without rewriting the table anyway). A store that
// went through migration 15 with this code has the new shape already. Everything
// runs inside Migrate's one transaction: a crash anywhere leaves the store
// at version 17 and the next start runs it again. A stored leaf blob of
// the wrong size (damage) is carried over as a complete batch without
// leaf hashes: its records fail to read as they did before, and only
// they.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "daemon/store/batch_tree.h"
#include "daemon/store/record_forms.h"
#include "daemon/store/schema.h"

namespace caravan::store::internal {
namespace {

// The leaf hashes of `bytes` when they are exactly `tree_size` of them.
std::optional<std::vector<crypto::MerkleHash>> LeavesOf(
    const std::vector<uint8_t>& bytes, uint64_t tree_size) {
  if (tree_size == 0 || bytes.size() % 32 != 0 ||
      bytes.size() / 32 != tree_size) {
    return std::nullopt;
  }
  std::vector<crypto::MerkleHash> leaves(tree_size);
  for (size_t i = 0; i < leaves.size(); ++i) {
    std::copy_n(bytes.begin() + 32 * i, 32, leaves[i].begin());
  }
  return leaves;
}

}  // namespace

const char* const kBatchTables = R"sql(
CREATE TABLE batches (
  bid INTEGER PRIMARY KEY,
  root_signature BLOB NOT NULL UNIQUE CHECK (length(root_signature) = 64),
  tree_size INTEGER NOT NULL CHECK (tree_size >= 1),
  held INTEGER NOT NULL DEFAULT 0,
  salt_seed BLOB CHECK (salt_seed IS NULL OR length(salt_seed) = 32),
  complete INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
  top BLOB
);
CREATE TABLE batch_leaves (
  bid INTEGER NOT NULL,
  chunk INTEGER NOT NULL CHECK (chunk >= 0),
  hashes BLOB NOT NULL CHECK (length(hashes) BETWEEN 32 AND 512
                              AND length(hashes) % 32 = 0),
  PRIMARY KEY (bid, chunk)
) WITHOUT ROWID;
)sql";

Result<bool> BatchesKeepLeafBlob(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t n, db.QueryInt("SELECT count(*) FROM pragma_table_info('batches') "
                             "WHERE name = 'leaves'"));
  return n != 0;
}

Status MigrateBatchLeaves(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool old_shape, BatchesKeepLeafBlob(db));
  if (!old_shape) return Status::Ok();  // made by migration 15 in this shape
  CARAVAN_RETURN_IF_ERROR(db.Exec("ALTER TABLE batches RENAME TO batches_v17"));
  CARAVAN_RETURN_IF_ERROR(db.Exec(kBatchTables));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement old,
      db.PrepareUncached("SELECT bid, root_signature, tree_size, held, "
                         "salt_seed, leaves FROM batches_v17 ORDER BY bid"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement add,
      db.PrepareUncached("INSERT INTO batches (bid, root_signature, "
                         "tree_size, held, salt_seed, complete, top) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, old.Step());
    if (!row) break;
    const int64_t bid = old.Int(0);
    const bool complete = !old.IsNull(5);
    std::optional<BatchTree> tree;
    if (complete) {
      auto leaves = LeavesOf(old.Blob(5), static_cast<uint64_t>(old.Int(2)));
      if (leaves) tree = BatchTree::FromLevels(crypto::MerkleTreeLevels(*leaves));
    }
    add.Reset();
    add.Bind(1, bid);
    add.BindBlob(2, old.Blob(1));
    add.Bind(3, old.Int(2));
    add.Bind(4, old.Int(3));
    if (old.IsNull(4)) {
      add.BindNull(5);
    } else {
      add.BindBlob(5, old.Blob(4));
    }
    add.Bind(6, complete ? 1 : 0);
    if (tree) {
      add.BindBlob(7, tree->TopBytes());
    } else {
      add.BindNull(7);
    }
    CARAVAN_RETURN_IF_ERROR(add.Run());
    if (tree) CARAVAN_RETURN_IF_ERROR(StoreLeaves(db, bid, *tree));
  }
  return db.Exec("DROP TABLE batches_v17");
}

}  // namespace caravan::store::internal
