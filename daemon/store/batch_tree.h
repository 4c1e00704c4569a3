#pragma once
// Private to daemon/store: a complete batch's Merkle tree as the store keeps
// it (record_forms.h), and the inclusion paths it gives.
//
// Rebuilding a 5000-leaf tree from its leaf hashes is about 5000 SHA-256
// compressions: fine once for a batch read in log order, far too slow for
// one record read alone (a query that checks signatures of rows from many
// batches). So the store keeps, besides the leaf hashes, the levels from
// kChunkLevels up ("top", about n/32 hashes); a path then needs only the
// 64 leaf hashes of its leaf's chunk (read alone, 2 KiB, through a loader)
// and the levels below kChunkLevels over them (63 compressions); each
// chunk is kept while the tree is.
//
// Levels pair neighbours bottom up with a last odd node moved up unchanged:
// the RFC 9162 tree (crypto/merkle.h, MerkleTreeLevels). A chunk is
// aligned to 64 leaves, so every node of its lower six levels has its
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
  static constexpr size_t kChunkLevels = 6;  // a chunk is 2^6 = 64 leaves

  // Reads `count` leaf hashes from leaf `first` on, as stored (32 bytes
  // each).
  using LeafLoader = std::function<Result<std::vector<uint8_t>>(
      uint64_t first, size_t count)>;

  // Every level known (a batch just completed).
  static BatchTree FromLevels(const crypto::MerkleLevels& levels);
  // The stored upper levels back, leaves read through `loader` when a
  // chunk is needed; nullopt when `top`'s size does not fit `tree_size`
  // (a damaged row).
  static std::optional<BatchTree> FromStored(uint64_t tree_size,
                                             const std::vector<uint8_t>& top,
                                             LeafLoader loader);

  // What to store: the leaf hashes (FromLevels only), and the levels from
  // kChunkLevels up (empty for a batch of 32 leaves or fewer: six levels
  // or fewer).
  std::vector<uint8_t> LeafBytes() const;
  std::vector<uint8_t> TopBytes() const;

  uint64_t size() const { return level_sizes_[0]; }
  // Leaf `index` (< size()) and its RFC 9162 inclusion path. Fail only
  // when the loader does (a store error or a damaged row).
  Result<Hash> Leaf(uint64_t index);
  Result<std::vector<Hash>> Path(uint64_t index);

 private:
  BatchTree() = default;
  static std::vector<size_t> LevelSizes(uint64_t leaves);
  Result<const std::vector<std::vector<Hash>>*> Chunk(uint64_t chunk);

  std::vector<Hash> leaves_;  // all of them (FromLevels) or none
  LeafLoader loader_;         // FromStored
  std::vector<std::vector<Hash>> top_;  // levels kChunkLevels and up
  std::vector<size_t> level_sizes_;     // of every level, leaves first
  // Levels 0..kChunkLevels-1 of the chunks computed so far, local indexes.
  std::map<uint64_t, std::vector<std::vector<Hash>>> chunks_;
};

}  // namespace caravan::store::internal
