#include "crypto/merkle.h"

#include <sodium.h>

#include <bit>
#include <cstdio>
#include <cstdlib>

#include "crypto/sha256.h"
#include "crypto/signing.h"

namespace caravan::crypto {
namespace {

// Largest power of two strictly smaller than n (n >= 2).
size_t SplitPoint(size_t n) { return std::bit_floor(n - 1); }

// Computes MTH of leaves[lo, hi) and appends the sibling on each level to the
// paths of the leaves below it. Appending after the recursive calls yields
// the RFC order: deepest sibling first.
MerkleHash Build(std::span<const MerkleHash> leaves, size_t lo, size_t hi,
                 std::vector<std::vector<MerkleHash>>* paths) {
  if (hi - lo == 1) return leaves[lo];
  size_t mid = lo + SplitPoint(hi - lo);
  MerkleHash left = Build(leaves, lo, mid, paths);
  MerkleHash right = Build(leaves, mid, hi, paths);
  if (paths != nullptr) {
    for (size_t i = lo; i < mid; ++i) (*paths)[i].push_back(right);
    for (size_t i = mid; i < hi; ++i) (*paths)[i].push_back(left);
  }
  return MerkleNodeHash(left, right);
}

}  // namespace

MerkleHash MerkleLeafHash(std::span<const uint8_t, 32> salt,
                          std::span<const uint8_t> data) {
  static constexpr uint8_t kLeafTag[1] = {0x00};
  return Sha256Of({kLeafTag, salt, data});
}

MerkleHash MerkleNodeHash(const MerkleHash& left, const MerkleHash& right) {
  uint8_t buf[1 + 32 + 32];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256Of({buf});
}

MerkleHash MerkleTreeHash(std::span<const MerkleHash> leaf_hashes,
                          std::vector<std::vector<MerkleHash>>* paths) {
  if (leaf_hashes.empty()) {
    std::fputs("caravan: MerkleTreeHash of an empty batch\n", stderr);
    std::abort();
  }
  if (paths != nullptr) {
    paths->assign(leaf_hashes.size(), {});
  }
  return Build(leaf_hashes, 0, leaf_hashes.size(), paths);
}

MerkleLevels MerkleTreeLevels(std::span<const MerkleHash> leaf_hashes) {
  if (leaf_hashes.empty()) {
    std::fputs("caravan: MerkleTreeLevels of an empty batch\n", stderr);
    std::abort();
  }
  MerkleLevels levels;
  levels.emplace_back(leaf_hashes.begin(), leaf_hashes.end());
  while (levels.back().size() > 1) {
    const std::vector<MerkleHash>& below = levels.back();
    std::vector<MerkleHash> up;
    up.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      up.push_back(MerkleNodeHash(below[i], below[i + 1]));
    }
    if (below.size() % 2 == 1) up.push_back(below.back());
    levels.push_back(std::move(up));
  }
  return levels;
}

std::vector<MerkleHash> MerklePathFromLevels(const MerkleLevels& levels,
                                             uint64_t index) {
  std::vector<MerkleHash> path;
  for (size_t level = 0; level + 1 < levels.size(); ++level) {
    const uint64_t sibling = index ^ 1;
    // A node without a right neighbour moved up unchanged: no hash on
    // this level (the RFC's split puts it deeper on the right).
    if (sibling < levels[level].size()) path.push_back(levels[level][sibling]);
    index >>= 1;
  }
  return path;
}

std::optional<MerkleHash> RootFromInclusionPath(const MerkleHash& leaf_hash,
                                                uint64_t leaf_index,
                                                uint64_t tree_size,
                                                std::span<const MerkleHash> path) {
  if (leaf_index >= tree_size || path.size() > kMaxMerklePathLength) {
    return std::nullopt;
  }
  // RFC 9162 section 2.1.3.2, step by step.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  MerkleHash r = leaf_hash;
  for (const MerkleHash& p : path) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) != 0 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

std::optional<MerkleHash> MerkleRootFromProof(std::span<const uint8_t> leaf_data,
                                              const MerkleProof& proof) {
  // Checked before hashing so a hostile proof costs nothing.
  if (proof.leaf_index >= proof.tree_size ||
      proof.path.size() > kMaxMerklePathLength) {
    return std::nullopt;
  }
  return RootFromInclusionPath(MerkleLeafHash(proof.salt, leaf_data),
                               proof.leaf_index, proof.tree_size, proof.path);
}

std::array<uint8_t, 40> BatchRootMessage(uint64_t tree_size, const MerkleHash& root) {
  std::array<uint8_t, 40> msg{};
  for (int i = 0; i < 8; ++i) {
    msg[i] = static_cast<uint8_t>(tree_size >> (8 * (7 - i)));
  }
  std::copy(root.begin(), root.end(), msg.begin() + 8);
  return msg;
}

bool VerifyBatchRoot(const Ed25519PublicKey& key, uint64_t tree_size,
                     const MerkleHash& root, const Ed25519Signature& sig) {
  return Verify(key, SignDomain::kBatchRoot, BatchRootMessage(tree_size, root), sig);
}

namespace {

// Fills in each proof's path and `leaf_hashes`, and returns the root of the
// leaves whose proofs already carry their salt, index and tree size.
MerkleHash FillPaths(const std::vector<std::span<const uint8_t>>& leaves,
                     std::vector<MerkleProof>& proofs,
                     std::vector<MerkleHash>& leaf_hashes) {
  leaf_hashes.resize(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    leaf_hashes[i] = MerkleLeafHash(proofs[i].salt, leaves[i]);
  }
  std::vector<std::vector<MerkleHash>> paths;
  MerkleHash root = MerkleTreeHash(leaf_hashes, &paths);  // aborts if empty
  for (size_t i = 0; i < leaves.size(); ++i) {
    proofs[i].path = std::move(paths[i]);
  }
  return root;
}

std::vector<MerkleProof> ProofsWithoutPaths(size_t leaves) {
  std::vector<MerkleProof> proofs(leaves);
  for (size_t i = 0; i < leaves; ++i) {
    proofs[i].leaf_index = i;
    proofs[i].tree_size = leaves;
  }
  return proofs;
}

}  // namespace

SignedBatch SignBatch(const IdentityKey& key,
                      const std::vector<std::span<const uint8_t>>& leaves) {
  EnsureSodium();
  SignedBatch batch;
  batch.proofs = ProofsWithoutPaths(leaves.size());
  for (auto& proof : batch.proofs) {
    randombytes_buf(proof.salt.data(), proof.salt.size());
  }
  MerkleHash root = FillPaths(leaves, batch.proofs, batch.leaf_hashes);
  batch.root_signature =
      Sign(key, SignDomain::kBatchRoot, BatchRootMessage(leaves.size(), root));
  return batch;
}

std::array<uint8_t, 32> MerkleSaltFromSeed(const MerkleSaltSeed& seed,
                                           uint64_t index) {
  EnsureSodium();
  static constexpr char kLabel[] = "caravan/1 merkle salt";  // + its NUL
  uint8_t msg[sizeof kLabel + 8];
  std::copy(kLabel, kLabel + sizeof kLabel, msg);
  for (int i = 0; i < 8; ++i) {
    msg[sizeof kLabel + i] = static_cast<uint8_t>(index >> (8 * (7 - i)));
  }
  std::array<uint8_t, 32> salt{};
  crypto_generichash(salt.data(), salt.size(), msg, sizeof msg, seed.data(),
                     seed.size());
  return salt;
}

MerkleBatchTree BuildSeededBatch(
    const std::vector<std::span<const uint8_t>>& leaves,
    const MerkleSaltSeed& seed) {
  MerkleBatchTree tree;
  tree.proofs = ProofsWithoutPaths(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    tree.proofs[i].salt = MerkleSaltFromSeed(seed, i);
  }
  tree.root = FillPaths(leaves, tree.proofs, tree.leaf_hashes);
  return tree;
}

SignedBatch SignSeededBatch(const IdentityKey& key,
                            const std::vector<std::span<const uint8_t>>& leaves,
                            const MerkleSaltSeed& seed) {
  MerkleBatchTree tree = BuildSeededBatch(leaves, seed);
  SignedBatch batch;
  batch.proofs = std::move(tree.proofs);
  batch.leaf_hashes = std::move(tree.leaf_hashes);
  batch.root_signature = Sign(key, SignDomain::kBatchRoot,
                              BatchRootMessage(leaves.size(), tree.root));
  return batch;
}

bool VerifyBatchProof(const Ed25519PublicKey& key,
                      std::span<const uint8_t> leaf_data,
                      const MerkleProof& proof,
                      const Ed25519Signature& root_signature) {
  std::optional<MerkleHash> root = MerkleRootFromProof(leaf_data, proof);
  if (!root) return false;
  return VerifyBatchRoot(key, proof.tree_size, *root, root_signature);
}

}  // namespace caravan::crypto
