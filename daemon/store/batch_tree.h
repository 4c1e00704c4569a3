#pragma once
// Private to daemon/store: a complete batch's Merkle tree as the store keeps
// it (record_forms.h), and the inclusion paths it gives.
//
// Rebuilding a 5000-leaf tree from its leaf hashes is about 5000 SHA-256
// compressions: fine once for a batch read in log order, far too slow for
// one record read alone (a query that checks signatures of rows from many
// batches). So the store keeps the leaf hashes in chunks of 16, one row
// each (`batch_leaves`), and the levels from kChunkLevels up ("top", about
// n/8 hashes, on the batch's row); a path then needs only its leaf's chunk
// (one row, 512 bytes, through a loader) and the levels below
// kChunkLevels over it (15 compressions); each chunk is kept while the
// tree is. Chunks of 64 leaves in one blob (migration 17) cost a CIDR /24
// query row 63 compressions plus a walk down the blob's overflow pages.
//
// Levels pair neighbours bottom up with a last odd node moved up unchanged:
// the RFC 9162 tree (crypto/merkle.h, MerkleTreeLevels). A chunk is
// aligned to 16 leaves, so every node of its lower four levels has its
// sibling in the same chunk.
//
// Thread-safety: none (owned by one RecordForms).

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "crypto/merkle.h"
#include "protocol/status.h"

namespace caravan::store::internal {

class BatchTree {
 public:
  using Hash = crypto::MerkleHash;
  static constexpr size_t kChunkLevels = 4;  // a chunk is 2^4 = 16 leaves
  static constexpr uint64_t kChunkLeaves = uint64_t{1} << kChunkLevels;

  // Reads chunk `chunk`'s leaf hashes as stored (32 bytes each, 16 but in
  // the last chunk).
  using LeafLoader =
      std::function<Result<std::vector<uint8_t>>(uint64_t chunk)>;

  // Every level known (a batch just completed).
  static BatchTree FromLevels(const crypto::MerkleLevels& levels);
  // The stored upper levels back, leaves read through `loader` when a
  // chunk is needed; nullopt when `top`'s size does not fit `tree_size`
  // (a damaged row).
  static std::optional<BatchTree> FromStored(uint64_t tree_size,
                                             const std::vector<uint8_t>& top,
                                             LeafLoader loader);

  // What to store: the leaf hashes of each chunk in order (FromLevels
  // only), and the levels from kChunkLevels up (empty for a batch of 8
  // leaves or fewer: four levels or fewer).
  std::vector<std::vector<uint8_t>> ChunkBytes() const;
  std::vector<uint8_t> TopBytes() const;

  uint64_t size() const { return level_sizes_[0]; }

  // The size of every level of a tree over `leaves` leaves, leaves first.
  static std::vector<size_t> LevelSizes(uint64_t leaves);
  // The lowest `count` levels over `leaves` (fewer once a level is one
  // node), leaves first: a chunk's levels, which a path takes its lower
  // siblings from.
  static std::vector<std::vector<Hash>> LowerLevels(std::vector<Hash> leaves,
                                                    size_t count);
  // Leaf `index` (< size()) and its RFC 9162 inclusion path. Fail only
  // when the loader does (a store error or a damaged row).
  Result<Hash> Leaf(uint64_t index);
  Result<std::vector<Hash>> Path(uint64_t index);

 private:
  BatchTree() = default;
  Result<const std::vector<std::vector<Hash>>*> Chunk(uint64_t chunk);

  std::vector<Hash> leaves_;  // all of them (FromLevels) or none
  LeafLoader loader_;         // FromStored
  std::vector<std::vector<Hash>> top_;  // levels kChunkLevels and up
  std::vector<size_t> level_sizes_;     // of every level, leaves first
  // Levels 0..kChunkLevels-1 of the chunks computed so far, local indexes.
  std::map<uint64_t, std::vector<std::vector<Hash>>> chunks_;
};

}  // namespace caravan::store::internal
