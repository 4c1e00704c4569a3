#include "daemon/store/batch_tree.h"

#include <algorithm>
#include <cstring>

namespace caravan::store::internal {
namespace {

using Hash = BatchTree::Hash;

void Append(const std::vector<Hash>& hashes, std::vector<uint8_t>& out) {
  for (const Hash& h : hashes) out.insert(out.end(), h.begin(), h.end());
}

std::vector<Hash> Take(const uint8_t* bytes, size_t count) {
  std::vector<Hash> out(count);
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(out[i].data(), bytes + 32 * i, 32);
  }
  return out;
}

}  // namespace

std::vector<size_t> BatchTree::LevelSizes(uint64_t leaves) {
  std::vector<size_t> sizes = {static_cast<size_t>(leaves)};
  while (sizes.back() > 1) sizes.push_back((sizes.back() + 1) / 2);
  return sizes;
}

BatchTree BatchTree::FromLevels(const crypto::MerkleLevels& levels) {
  BatchTree tree;
  tree.leaves_ = levels.at(0);
  for (size_t k = kChunkLevels; k < levels.size(); ++k) {
    tree.top_.push_back(levels[k]);
  }
  tree.level_sizes_ = LevelSizes(tree.leaves_.size());
  return tree;
}

std::optional<BatchTree> BatchTree::FromStored(uint64_t tree_size,
                                               const std::vector<uint8_t>& top,
                                               LeafLoader loader) {
  if (tree_size == 0) return std::nullopt;
  BatchTree tree;
  tree.level_sizes_ = LevelSizes(tree_size);
  size_t top_hashes = 0;
  for (size_t k = kChunkLevels; k < tree.level_sizes_.size(); ++k) {
    top_hashes += tree.level_sizes_[k];
  }
  if (top.size() != 32 * top_hashes) return std::nullopt;
  size_t at = 0;
  for (size_t k = kChunkLevels; k < tree.level_sizes_.size(); ++k) {
    tree.top_.push_back(Take(top.data() + 32 * at, tree.level_sizes_[k]));
    at += tree.level_sizes_[k];
  }
  tree.loader_ = std::move(loader);
  return tree;
}

std::vector<std::vector<uint8_t>> BatchTree::ChunkBytes() const {
  std::vector<std::vector<uint8_t>> out;
  for (size_t first = 0; first < leaves_.size(); first += kChunkLeaves) {
    const size_t end = std::min<size_t>(leaves_.size(), first + kChunkLeaves);
    std::vector<uint8_t>& chunk = out.emplace_back();
    chunk.reserve(32 * (end - first));
    for (size_t i = first; i < end; ++i) {
      chunk.insert(chunk.end(), leaves_[i].begin(), leaves_[i].end());
    }
  }
  return out;
}

std::vector<uint8_t> BatchTree::TopBytes() const {
  std::vector<uint8_t> out;
  for (const auto& level : top_) Append(level, out);
  return out;
}

Result<const std::vector<std::vector<Hash>>*> BatchTree::Chunk(
    uint64_t chunk) {
  auto found = chunks_.find(chunk);
  if (found != chunks_.end()) return &found->second;
  const uint64_t first = chunk << kChunkLevels;
  const uint64_t end = std::min<uint64_t>(size(), first + kChunkLeaves);
  std::vector<Hash> leaves;
  if (!leaves_.empty()) {
    leaves.assign(leaves_.begin() + first, leaves_.begin() + end);
  } else {
    auto bytes = loader_(chunk);
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() != 32 * (end - first)) {
      return Corrupt("a batch's leaf hashes are " +
                     std::to_string(bytes->size()) + " bytes, not " +
                     std::to_string(32 * (end - first)));
    }
    leaves = Take(bytes->data(), end - first);
  }
  return &chunks_.emplace(chunk, LowerLevels(std::move(leaves), kChunkLevels))
              .first->second;
}

std::vector<std::vector<Hash>> BatchTree::LowerLevels(std::vector<Hash> leaves,
                                                      size_t count) {
  std::vector<std::vector<Hash>> levels;
  levels.push_back(std::move(leaves));
  while (levels.size() < count && levels.back().size() > 1) {
    const std::vector<Hash>& below = levels.back();
    std::vector<Hash> up;
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      up.push_back(crypto::MerkleNodeHash(below[i], below[i + 1]));
    }
    // No right neighbour: the node moves up unchanged (RFC 9162).
    if (below.size() % 2 == 1) up.push_back(below.back());
    levels.push_back(std::move(up));
  }
  return levels;
}

Result<Hash> BatchTree::Leaf(uint64_t index) {
  auto chunk = Chunk(index >> kChunkLevels);
  if (!chunk.ok()) return chunk.status();
  return (**chunk)[0][index - ((index >> kChunkLevels) << kChunkLevels)];
}

Result<std::vector<Hash>> BatchTree::Path(uint64_t index) {
  auto found = Chunk(index >> kChunkLevels);
  if (!found.ok()) return found.status();
  const auto& chunk = **found;
  const uint64_t first = (index >> kChunkLevels) << kChunkLevels;
  std::vector<Hash> path;
  for (size_t k = 0; k + 1 < level_sizes_.size(); ++k) {
    const uint64_t sibling = (index >> k) ^ 1;
    // No right neighbour on this level: the node moved up unchanged.
    if (sibling >= level_sizes_[k]) continue;
    if (k < kChunkLevels) {
      path.push_back(chunk[k][sibling - (first >> k)]);
    } else {
      path.push_back(top_[k - kChunkLevels][sibling]);
    }
  }
  return path;
}

}  // namespace caravan::store::internal
