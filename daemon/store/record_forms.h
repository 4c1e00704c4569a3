#pragma once
// Private to daemon/store: how a signed record is kept on disk (schema.md,
// "records" and "batches").
//
// A record arrives as opaque signed bytes (protocol/record_codec.h) and
// leaves as exactly the same bytes, but it is not stored as they are: about
// two thirds of a batch-signed record is its Merkle proof (a salt, a path of
// 12-13 sibling hashes for a 5000-record batch, and the batch's root
// signature), and the same root signature and the same upper tree nodes
// repeat in every record of the batch. So the store keeps
//   * the body, Cap'n Proto packed (lossless: unpacking gives the canonical
//     bytes back), in `records.body`, with its 32-byte origin key zeroed:
//     the key is the indicator's (`indicators.origin`, the same for every
//     record of the id) and random bytes do not pack;
//   * a single signature in `records.signature`, or the leaf's batch, index
//     and salt in `records.batch`, `leaf`, `salt` (the salt left out when
//     the batch's seed, kept once, derives it);
//   * each batch's root signature and tree size once, in `batches`;
//   * a leaf's inclusion path in `record_paths` only until its batch is
//     complete: every leaf hash known (given by the writer, or every leaf
//     held). Then the batch's leaf hashes are kept once (`batch_leaves`,
//     32 bytes a leaf in rows of 16, and the tree's upper levels in
//     `batches.top`, batch_tree.h) and every path is recomputed from them when
//     the record is read (RFC 9162, crypto/merkle.h).
// Anything this cannot reproduce byte for byte (checked when it is
// written) is kept verbatim in `records.raw`: nothing stored is ever
// altered.
//
// Thread-safety: one RecordForms per connection, used by that
// connection's one thread.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "daemon/store/batch_tree.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/store_types.h"
#include "protocol/record_codec.h"
#include "protocol/status.h"

namespace caravan::store::internal {

// Every leaf hash of one batch, in leaf order, shared by its records.
using BatchLeaves = std::shared_ptr<const std::vector<crypto::MerkleHash>>;

// The columns of one `records` row that hold the signed record.
struct RecordForm {
  std::vector<uint8_t> body;  // packed canonical body; empty when raw
  std::optional<std::array<uint8_t, 64>> signature;  // single-signed
  int64_t batch = 0;          // batches.bid; 0: not batch-signed
  uint64_t leaf = 0;          // leaf index in the batch
  std::array<uint8_t, 32> salt{};
  // The salt is the batch's seeded one (crypto/merkle.h, MerkleSaltFromSeed
  // of `batches.salt_seed`), so the row does not keep it.
  bool salt_derived = false;
  // The batch has every leaf hash kept (so Inserted keeps no path); not a
  // `records` column.
  bool batch_complete = false;
  // The leaf's inclusion path (32 bytes a hash), kept in record_paths
  // until the batch is complete; not a `records` column.
  std::vector<uint8_t> path;
  std::vector<uint8_t> raw;   // the signed bytes verbatim (rare)
};

// A stored record's form columns as a reader selects them
// (kFormColumns), plus what of its batch the same row joins.
struct StoredForm {
  RecordForm form;
  int64_t seq = 0;
  std::array<uint8_t, 64> root_signature{};
  uint64_t tree_size = 0;
  bool batch_complete = false;  // batches.complete: leaf hashes kept
  bool salt_missing = false;    // neither stored nor derivable: damage
  std::array<uint8_t, 32> origin{};  // the indicator's, put back in the body
};

// `records` columns (prefix r.), `batches` columns (prefix b., LEFT
// JOINed on r.batch) and the indicator's origin (prefix i., JOINed on
// r.rid) that ReadStoredForm expects, in order, starting at
// the column index it is given.
inline constexpr const char* kFormColumns =
    "r.seq, r.body, r.signature, r.batch, r.leaf, r.salt, r.raw, "
    "b.root_signature, b.tree_size, b.complete, b.salt_seed, "
    "i.origin";
inline constexpr int kFormColumnCount = 12;

StoredForm ReadStoredForm(const Statement& st, int first_column);

// The canonical body bytes a form holds (unpacked, or decoded from raw),
// without rebuilding its signature.
Result<std::vector<uint8_t>> BodyOf(const StoredForm& stored);

// The canonical body of the current revision of indicator `id` and its
// log entry, nullopt when the store holds none (WriteTxn and Reader's
// CurrentRecordBody).
Result<std::optional<CurrentBody>> CurrentBodyOf(
    Database& db, const std::array<uint8_t, 32>& id);

// Binds `form` to the six parameters from `first` on, in the order of the
// `records` columns batch, leaf, signature, salt, body, raw. Borrowed:
// `form` must outlive the statement's run (Statement::BindBlobBorrowed).
void BindRecordForm(Statement& st, int first, const RecordForm& form);

// A complete batch's leaf hashes, one `batch_leaves` row per chunk of
// BatchTree::kChunkLeaves (batch_tree.h), written when it completes.
Status StoreLeaves(Database& db, int64_t batch, const BatchTree& tree);
// Chunk `chunk`'s row; Corrupt when it is missing (the batch row says
// complete).
Result<std::vector<uint8_t>> LoadLeaves(Database& db, int64_t batch,
                                        uint64_t chunk);

// The part of RecordForms::Compact that reads no database: decoding the
// signed bytes, checking they come back byte for byte, packing the body,
// hashing the Merkle leaf and checking the proof against the caller's leaf
// hashes. PrepareForm runs it on any thread (WriteTxn's PrepareRecords,
// before a write is queued), so the store's single writer thread does only
// what needs the database (RecordForms::Place).
struct PreparedForm {
  // What it was prepared from: Compact uses it only when given the same.
  std::vector<uint8_t> signed_bytes;
  std::array<uint8_t, 32> origin{};
  std::optional<crypto::MerkleSaltSeed> salt_seed;
  BatchLeaves leaves;

  // The form, complete but for the batch's row (`form.batch`) and
  // `form.salt_derived` (which depend on the batch row) when `batched`.
  RecordForm form;
  bool batched = false;
  std::array<uint8_t, 64> root_signature{};
  uint64_t tree_size = 0;
  crypto::MerkleHash leaf_hash{};        // MerkleLeafHash(salt, body)
  std::vector<crypto::MerkleHash> path;  // the proof's
  bool seed_fits = false;                // salt_seed derives this leaf's salt
  // The tree levels of `leaves` when they place this record where its
  // proof says (a new batch is then complete at once). Shared by the
  // records of one batch.
  std::shared_ptr<const crypto::MerkleLevels> levels;
  // Whether `levels` was decided (DecideLevels, or the leaves cannot
  // complete this batch); when not, Place builds and checks them itself.
  bool levels_decided = false;
};

PreparedForm PrepareForm(std::vector<uint8_t> signed_bytes,
                         const std::array<uint8_t, 32>& origin,
                         const std::optional<crypto::MerkleSaltSeed>& salt_seed,
                         const BatchLeaves& leaves);
// PrepareForm for a record its signer has just made (SignBodies):
// `signed_bytes` is EncodeSignedRecord(record), and when batched `leaves`
// are its batch's leaf hashes, made with it. Decoding, the encoding check
// and hashing the leaf are skipped; deriving its salt from the seed (to
// check it), packing and the restore check are not. These preconditions
// are not checked: bytes or leaves from elsewhere would be stored wrong.
PreparedForm PrepareSignerForm(
    protocol::SignedRecord record, std::vector<uint8_t> signed_bytes,
    const std::array<uint8_t, 32>& origin,
    const std::optional<crypto::MerkleSaltSeed>& salt_seed,
    const BatchLeaves& leaves);
// Decides `prepared.levels` with MerkleTreeLevels(*prepared.leaves),
// computed once per batch by the caller. Only when !levels_decided.
void DecideLevels(PreparedForm& prepared,
                  std::shared_ptr<const crypto::MerkleLevels> levels);

// True when `prepared` was made from exactly these inputs.
bool PreparedFor(const PreparedForm& prepared,
                 const std::vector<uint8_t>& signed_bytes,
                 const std::array<uint8_t, 32>& origin,
                 const std::optional<crypto::MerkleSaltSeed>& salt_seed,
                 const BatchLeaves& leaves);

class RecordForms {
 public:
  explicit RecordForms(Database& db) : db_(db) {}
  RecordForms(const RecordForms&) = delete;
  RecordForms& operator=(const RecordForms&) = delete;

  // The form to store `signed_bytes` in. May add a `batches` row. Never
  // fails on the bytes themselves (unreadable ones are kept raw); fails
  // only on a store error. `salt_seed`, when the caller knows it (it made
  // the batch, or received it whole), is kept once for the batch instead
  // of a salt per leaf, for leaves whose salt it derives.
  // `origin` is the key the indicator's row holds: a body naming another
  // is kept raw. `leaves`, when the caller has every leaf hash of the
  // record's batch (it signed the batch, or received it whole), makes a
  // new batch complete at once (checked against this record's proof).
  Result<RecordForm> Compact(
      const std::vector<uint8_t>& signed_bytes,
      const std::array<uint8_t, 32>& origin,
      const std::optional<std::array<uint8_t, 32>>& salt_seed = std::nullopt,
      const BatchLeaves& leaves = nullptr);
  // Compact's database half, for a form PrepareForm made.
  Result<RecordForm> Place(const PreparedForm& prepared);

  // After the row with `form` was inserted as log entry `seq`: keeps the
  // leaf's path until its batch is complete, and completes the batch (leaf
  // hashes kept once, paths dropped) when this was its last missing leaf.
  Status Inserted(int64_t seq, const RecordForm& form);

  // After a savepoint rolled back: what this object remembers of rows
  // written since may be gone.
  void Forget();

  // The signed bytes a stored form stands for (byte-identical to what
  // Compact was given).
  Result<std::vector<uint8_t>> Expand(const StoredForm& stored);
  // What DecodeSignedRecord(Expand(stored)) gives, without encoding and
  // decoding: the signed record of a compact form (one with no raw bytes;
  // a raw form's bytes are what there is to decode). Corrupt, as Expand,
  // when the form cannot be put back.
  Result<protocol::SignedRecord> ExpandRecord(const StoredForm& stored);

 private:
  // The tree of the last complete batch used (batch_tree.h): reads walk
  // the log in order and a batch's records are mostly neighbours in it.
  // Keyed by the root signature too: a batch row rolled back with its
  // savepoint can have its number reused by another batch.
  struct TreeCache {
    int64_t batch = 0;
    std::array<uint8_t, 64> root_signature{};
    std::optional<BatchTree> tree;
    // The levels `tree` was made from when Place made it from a caller's
    // leaf hashes: a record PrepareForm checked against these same levels
    // needs no second check.
    std::shared_ptr<const crypto::MerkleLevels> levels;
  };

  // The `batches` row of a root signature. The last one found or made is
  // remembered: a batch's records come one after another.
  struct BatchRow {
    int64_t bid = 0;
    std::array<uint8_t, 64> root_signature{};
    uint64_t tree_size = 0;
    bool complete = false;
    std::optional<crypto::MerkleSaltSeed> salt_seed;
  };
  Result<std::optional<BatchRow>> FindBatch(
      const std::array<uint8_t, 64>& root_signature);

  Result<BatchTree*> Tree(int64_t batch, uint64_t tree_size,
                          const std::array<uint8_t, 64>& root_signature);
  Status TryComplete(int64_t batch);

  Database& db_;
  TreeCache tree_;
  std::optional<BatchRow> last_batch_;
};

}  // namespace caravan::store::internal
