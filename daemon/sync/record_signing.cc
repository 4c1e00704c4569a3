#include "daemon/sync/record_signing.h"

#include <sodium.h>

#include "crypto/merkle.h"
#include "crypto/signing.h"

namespace caravan::daemon {
namespace {

std::vector<uint8_t> CacheKey(const crypto::Ed25519PublicKey& origin,
                              const std::array<uint8_t, 32>& root,
                              uint64_t tree_size,
                              const std::array<uint8_t, 64>& signature) {
  // The origin is part of the key: a root verified for one origin says
  // nothing about another.
  std::vector<uint8_t> key(origin.begin(), origin.end());
  key.insert(key.end(), root.begin(), root.end());
  for (int i = 0; i < 8; ++i) key.push_back(uint8_t(tree_size >> (8 * i)));
  key.insert(key.end(), signature.begin(), signature.end());
  return key;
}

}  // namespace

SignedBodies SignBodies(const crypto::IdentityKey& key,
                        std::vector<std::vector<uint8_t>> bodies) {
  SignedBodies out;
  out.records.reserve(bodies.size());
  if (bodies.size() == 1) {
    auto sig = crypto::Sign(key, crypto::SignDomain::kRecord, bodies[0]);
    out.records.push_back({std::move(bodies[0]), sig});
    return out;
  }
  if (bodies.empty()) return out;
  crypto::MerkleSaltSeed seed{};
  randombytes_buf(seed.data(), seed.size());
  std::vector<std::span<const uint8_t>> leaves(bodies.begin(), bodies.end());
  crypto::SignedBatch batch = crypto::SignSeededBatch(key, leaves, seed);
  out.leaf_hashes = std::make_shared<const std::vector<crypto::MerkleHash>>(
      std::move(batch.leaf_hashes));
  for (size_t i = 0; i < bodies.size(); ++i) {
    out.records.push_back({std::move(bodies[i]),
                           ToBatchProof(std::move(batch.proofs[i]),
                                        batch.root_signature)});
  }
  out.salt_seed = seed;
  return out;
}

protocol::BatchProofData ToBatchProof(crypto::MerkleProof proof,
                                      const crypto::Ed25519Signature& root) {
  protocol::BatchProofData out;
  out.salt = proof.salt;
  out.leaf_index = proof.leaf_index;
  out.tree_size = proof.tree_size;
  out.path = std::move(proof.path);
  out.root_signature = root;
  return out;
}

bool BatchRootCache::Contains(const crypto::Ed25519PublicKey& origin,
                              const std::array<uint8_t, 32>& root,
                              uint64_t tree_size,
                              const std::array<uint8_t, 64>& signature) const {
  return verified_.count(CacheKey(origin, root, tree_size, signature)) > 0;
}

void BatchRootCache::Add(const crypto::Ed25519PublicKey& origin,
                         const std::array<uint8_t, 32>& root,
                         uint64_t tree_size,
                         const std::array<uint8_t, 64>& signature) {
  if (verified_.size() >= kMaxEntries) verified_.clear();
  verified_[CacheKey(origin, root, tree_size, signature)] = true;
}

bool VerifySignedRecord(const protocol::SignedRecord& record,
                        const crypto::Ed25519PublicKey& origin,
                        BatchRootCache* cache) {
  if (const auto* sig = std::get_if<std::array<uint8_t, 64>>(&record.signature)) {
    return crypto::Verify(origin, crypto::SignDomain::kRecord, record.body,
                          *sig);
  }
  const auto& p = std::get<protocol::BatchProofData>(record.signature);
  crypto::MerkleProof proof{p.salt, p.leaf_index, p.tree_size, p.path};
  auto root = crypto::MerkleRootFromProof(record.body, proof);
  if (!root) return false;
  if (cache && cache->Contains(origin, *root, p.tree_size, p.root_signature)) {
    return true;
  }
  if (!crypto::VerifyBatchRoot(origin, p.tree_size, *root, p.root_signature)) {
    return false;
  }
  if (cache) cache->Add(origin, *root, p.tree_size, p.root_signature);
  return true;
}

}  // namespace caravan::daemon
