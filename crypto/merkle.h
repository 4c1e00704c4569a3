#pragma once
// Merkle batch signatures: one Ed25519 signature over the root of an RFC 9162
// Merkle tree of records, plus one inclusion proof per record, so a record
// filtered out of a batch by policy leaves every other record verifiable.
//
// Hashing (RFC 9162 section 2.1.1, SHA-256):
//   leaf hash  = SHA-256(0x00 || salt(32) || leaf data)
//   node hash  = SHA-256(0x01 || left || right)
//   tree hash  = the RFC's recursive split at the largest power of two
//                smaller than the size, so any size >= 1 works.
// Each leaf gets a fresh random 32-byte salt so that a sibling hash in one
// record's proof reveals nothing about the neighbouring record.
//
// The root signature is Sign(key, SignDomain::kBatchRoot, tree_size as 8
// bytes big-endian || root) (see crypto/signing.h for the prefix bytes).
//
// Proofs are untrusted input: path length is bounded (kMaxMerklePathLength),
// leaf_index must be < tree_size, and the path length must match the one the
// RFC algorithm consumes exactly.
//
// All functions are pure and thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/identity_key.h"

namespace caravan::crypto {

using MerkleHash = std::array<uint8_t, 32>;

inline constexpr size_t kMaxMerklePathLength = 64;

struct MerkleProof {
  std::array<uint8_t, 32> salt{};  // this leaf's salt
  uint64_t leaf_index = 0;         // 0-based; < tree_size
  uint64_t tree_size = 0;          // number of leaves in the batch; >= 1
  std::vector<MerkleHash> path;    // RFC 9162 inclusion path, leaf side first
};

struct SignedBatch {
  Ed25519Signature root_signature{};
  std::vector<MerkleProof> proofs;  // proofs[i] is for leaves[i]
  // leaf_hashes[i] = MerkleLeafHash(proofs[i].salt, leaves[i]): computed
  // to build the tree anyway, kept for callers that store it.
  std::vector<MerkleHash> leaf_hashes;
};

// SHA-256(0x00 || salt || data).
MerkleHash MerkleLeafHash(std::span<const uint8_t, 32> salt,
                          std::span<const uint8_t> data);

// SHA-256(0x01 || left || right).
MerkleHash MerkleNodeHash(const MerkleHash& left, const MerkleHash& right);

// RFC 9162 MTH over already-hashed leaves. Requires at least one leaf
// (aborts on an empty list: a batch of nothing is a bug). If `paths` is
// non-null it is resized to leaf_hashes.size() and filled with every leaf's
// inclusion path.
MerkleHash MerkleTreeHash(std::span<const MerkleHash> leaf_hashes,
                          std::vector<std::vector<MerkleHash>>* paths = nullptr);

// Every level of the tree over `leaf_hashes`, bottom up: levels[0] is the
// leaves, each next level pairs neighbours (a last odd node moves up
// unchanged), the last level is the root alone. This is the same tree as
// MerkleTreeHash's (RFC 9162's split at the largest power of two gives the
// same nodes), kept so that many leaves' paths come from one build
// (MerklePathFromLevels). About 2n hashes. Requires at least one leaf
// (aborts on none, as MerkleTreeHash).
using MerkleLevels = std::vector<std::vector<MerkleHash>>;
MerkleLevels MerkleTreeLevels(std::span<const MerkleHash> leaf_hashes);

// The RFC 9162 inclusion path of leaf `index` (< levels[0].size()), leaf
// side first: equal to what MerkleTreeHash gives for that leaf.
std::vector<MerkleHash> MerklePathFromLevels(const MerkleLevels& levels,
                                             uint64_t index);

// RFC 9162 section 2.1.3.2: the root implied by a leaf hash and its
// inclusion path. Returns nullopt if leaf_index >= tree_size, the path is
// longer than kMaxMerklePathLength, or its length is wrong for the position.
std::optional<MerkleHash> RootFromInclusionPath(const MerkleHash& leaf_hash,
                                                uint64_t leaf_index,
                                                uint64_t tree_size,
                                                std::span<const MerkleHash> path);

// The root implied by a leaf's data and proof (nullopt on a malformed proof).
// Lets a receiver verify many proofs of one batch against one signature
// check (cache verified (root, tree_size, signature) triples).
std::optional<MerkleHash> MerkleRootFromProof(std::span<const uint8_t> leaf_data,
                                              const MerkleProof& proof);

// The exact bytes the batch root signature covers (before the domain prefix):
// tree_size big-endian (8) || root (32).
std::array<uint8_t, 40> BatchRootMessage(uint64_t tree_size, const MerkleHash& root);

// True iff `sig` is `key`'s batch-root signature over (tree_size, root).
bool VerifyBatchRoot(const Ed25519PublicKey& key, uint64_t tree_size,
                     const MerkleHash& root, const Ed25519Signature& sig);

// Salts every leaf, builds the tree, signs the root. Requires 1 or more
// leaves (aborts on none: a bug).
SignedBatch SignBatch(const IdentityKey& key,
                      const std::vector<std::span<const uint8_t>>& leaves);

// ---- Seeded batches: every salt derived from one 32-byte seed ----
// A batch its origin sends whole (docs/wire.md, "Whole batches") carries
// the seed once instead of a salt per leaf:
//   salt(i) = BLAKE2b-256(key = seed, "caravan/1 merkle salt\0" || u64be(i))
// A keyed hash is a PRF, so a record forwarded later with its own salt and
// proof reveals neither the seed nor any other leaf's salt; the hiding
// property of random salts holds. The seed is sent only with the whole
// batch, never stored or forwarded with a single record.
using MerkleSaltSeed = std::array<uint8_t, 32>;

std::array<uint8_t, 32> MerkleSaltFromSeed(const MerkleSaltSeed& seed,
                                           uint64_t index);

struct MerkleBatchTree {
  MerkleHash root{};
  std::vector<MerkleProof> proofs;  // proofs[i] is for leaves[i]
  std::vector<MerkleHash> leaf_hashes;  // as in SignedBatch
};

// The tree of `leaves` salted from `seed`, with every leaf's proof.
// Requires 1 or more leaves (aborts on none: a bug; callers of untrusted
// input check first).
MerkleBatchTree BuildSeededBatch(
    const std::vector<std::span<const uint8_t>>& leaves,
    const MerkleSaltSeed& seed);

// BuildSeededBatch, then signs the root with `key`.
SignedBatch SignSeededBatch(const IdentityKey& key,
                            const std::vector<std::span<const uint8_t>>& leaves,
                            const MerkleSaltSeed& seed);

// True iff `proof` places `leaf_data` in a tree whose root `root_signature`
// signs under `key`. False on any malformed proof.
bool VerifyBatchProof(const Ed25519PublicKey& key,
                      std::span<const uint8_t> leaf_data,
                      const MerkleProof& proof,
                      const Ed25519Signature& root_signature);

}  // namespace caravan::crypto
