// Migration 18: a complete batch's leaf hashes in rows of 16
// (`batch_leaves`, batch_tree.h) instead of one blob on the batch's row,
// and `batches.complete` saying so.
//
// The old blobs' pages (32 B a record) become free pages of the file, not
// returned to the filesystem (no auto_vacuum), and the one transaction
// writes about as much to the WAL: the upgrade needs that much free disk
// for a moment (docs/performance.md, "What an operator should expect").
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
// hashes (one compression per leaf), after checking them against the old
// `top` (the levels from 6 up, as the old layout kept them), and the table
// is rebuilt (SQLite cannot drop a column without rewriting the table
// anyway). A store that went through migration 15 with this code has the
// new shape already. Everything runs inside Migrate's one transaction: a
// crash anywhere leaves the store at the version it had, and the next
// start runs it again.
//
// A damaged batch (a leaf blob of the wrong size, or leaf hashes and `top`
// that disagree) is not made complete: each of its records gets the path
// the old layout gave it (its 64-leaf chunk from the blob, the rest from
// the old `top`) in record_paths, so exactly the records that read before
// read after, with the same bytes; a record whose chunk the blob does not
// hold had no path before and has none after.

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

using Hash = crypto::MerkleHash;

// Versions up to 17 kept the tree levels from 6 up (chunks of 64 leaves).
constexpr size_t kOldChunkLevels = 6;

std::vector<Hash> HashesOf(const uint8_t* bytes, size_t count) {
  std::vector<Hash> out(count);
  for (size_t i = 0; i < count; ++i)
    std::copy_n(bytes + 32 * i, 32, out[i].begin());
  return out;
}

// The old layout's upper levels computed from `levels`, as bytes.
std::vector<uint8_t> OldTopOf(const crypto::MerkleLevels& levels) {
  std::vector<uint8_t> out;
  for (size_t k = kOldChunkLevels; k < levels.size(); ++k) {
    for (const Hash& h : levels[k]) out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

// The path of `leaf` as a version-17 store gave it: its 64-leaf chunk from
// `blob`, hashed up six levels, the rest from `old_top`. nullopt when the
// blob does not hold the chunk or `old_top` has the wrong size (no path
// then either).
std::optional<std::vector<uint8_t>> OldLayoutPath(
    const std::vector<uint8_t>& blob, const std::vector<uint8_t>& old_top,
    uint64_t tree_size, uint64_t leaf) {
  const std::vector<size_t> sizes = BatchTree::LevelSizes(tree_size);
  if (leaf >= tree_size) return std::nullopt;
  std::vector<std::vector<Hash>> top;
  size_t at = 0;
  for (size_t k = kOldChunkLevels; k < sizes.size(); ++k) {
    // Sizes compared in hashes, not bytes: a damaged tree_size must not
    // overflow into a size that fits.
    if (old_top.size() / 32 < at + sizes[k]) return std::nullopt;
    top.push_back(HashesOf(old_top.data() + 32 * at, sizes[k]));
    at += sizes[k];
  }
  if (old_top.size() % 32 != 0 || old_top.size() / 32 != at) {
    return std::nullopt;
  }
  const uint64_t first = (leaf >> kOldChunkLevels) << kOldChunkLevels;
  const uint64_t end =
      std::min<uint64_t>(tree_size, first + (uint64_t{1} << kOldChunkLevels));
  if (blob.size() / 32 < end) return std::nullopt;
  const std::vector<std::vector<Hash>> chunk = BatchTree::LowerLevels(
      HashesOf(blob.data() + 32 * first, end - first), kOldChunkLevels);
  std::vector<uint8_t> path;
  for (size_t k = 0; k + 1 < sizes.size(); ++k) {
    const uint64_t sibling = (leaf >> k) ^ 1;
    if (sibling >= sizes[k]) continue;  // moved up unchanged
    const Hash& h = k < kOldChunkLevels ? chunk[k][sibling - (first >> k)]
                                        : top[k - kOldChunkLevels][sibling];
    path.insert(path.end(), h.begin(), h.end());
  }
  return path;
}

// A damaged batch's records keep the paths the old layout gave them;
// returns how many records it holds (its `held`).
Result<int64_t> KeepOldPaths(Database& db, int64_t bid, uint64_t tree_size,
                             const std::vector<uint8_t>& blob,
                             const std::vector<uint8_t>& old_top) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement records,
      db.PrepareUncached("SELECT seq, leaf FROM records WHERE batch = ? "
                         "AND raw IS NULL"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement keep,
      db.PrepareUncached("INSERT OR REPLACE INTO record_paths (seq, path) "
                         "VALUES (?, ?)"));
  records.Bind(1, bid);
  int64_t held = 0;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, records.Step());
    if (!row) break;
    ++held;
    auto path = OldLayoutPath(blob, old_top, tree_size,
                              static_cast<uint64_t>(records.Int(1)));
    if (!path) continue;
    keep.Reset();
    keep.Bind(1, records.Int(0));
    keep.BindBlob(2, *path);
    CARAVAN_RETURN_IF_ERROR(keep.Run());
  }
  return held;
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
  bid INTEGER NOT NULL REFERENCES batches (bid) ON DELETE CASCADE,
  chunk INTEGER NOT NULL CHECK (chunk >= 0),
  hashes BLOB NOT NULL CHECK (length(hashes) BETWEEN 32 AND 512
                              AND length(hashes) % 32 = 0),
  PRIMARY KEY (bid, chunk)
) WITHOUT ROWID;
)sql";

Result<bool> BatchesKeepLeafBlob(Database& db) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t n,
      db.QueryInt("SELECT count(*) FROM pragma_table_info('batches') "
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
                         "salt_seed, leaves, top FROM batches_v17 "
                         "ORDER BY bid"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement add,
      db.PrepareUncached("INSERT INTO batches (bid, root_signature, "
                         "tree_size, held, salt_seed, complete, top) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, old.Step());
    if (!row) break;
    const int64_t bid = old.Int(0);
    const uint64_t tree_size = static_cast<uint64_t>(old.Int(2));
    int64_t held = old.Int(3);
    std::optional<BatchTree> tree;
    if (!old.IsNull(5)) {
      const std::vector<uint8_t> blob = old.Blob(5);
      const std::vector<uint8_t> old_top = old.Blob(6);
      if (blob.size() % 32 == 0 && blob.size() / 32 == tree_size) {
        const crypto::MerkleLevels levels =
            crypto::MerkleTreeLevels(HashesOf(blob.data(), tree_size));
        if (OldTopOf(levels) == old_top) tree = BatchTree::FromLevels(levels);
      }
      if (!tree) {
        CARAVAN_STORE_ASSIGN_OR_RETURN(
            held, KeepOldPaths(db, bid, tree_size, blob, old_top));
      }
    }
    add.Reset();
    add.Bind(1, bid);
    add.BindBlob(2, old.Blob(1));
    add.Bind(3, old.Int(2));
    add.Bind(4, held);
    if (old.IsNull(4)) {
      add.BindNull(5);
    } else {
      add.BindBlob(5, old.Blob(4));
    }
    add.Bind(6, tree ? 1 : 0);
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
