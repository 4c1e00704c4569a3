#pragma once
// Bridges protocol's signed-record encoding and crypto's signatures: signs
// record bodies (alone or as one Merkle batch) and verifies a signed record
// against its origin's key. protocol/ and crypto/ do not know each other;
// this is where they meet.
//
// Thread-safety: pure functions except for the optional BatchRootCache,
// which is not thread-safe (one per thread or per link).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/merkle.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {

// What SignBodies made: the signed records in the order of the bodies,
// and, when they are one batch, the seed its salts come from (the store
// keeps it once instead of a salt per record; it is never sent).
struct SignedBodies {
  std::vector<protocol::SignedRecord> records;
  std::optional<crypto::MerkleSaltSeed> salt_seed;
  // The batch's leaf hashes, in order (the store keeps its tree from them).
  std::shared_ptr<const std::vector<crypto::MerkleHash>> leaf_hashes;
};


// Signs each canonical body: one body gets a single signature; several get
// one signature over their Merkle root (salts seeded from a fresh random
// seed, crypto/merkle.h) and a proof each (DESIGN.md, Data model).
SignedBodies SignBodies(const crypto::IdentityKey& key,
                        std::vector<std::vector<uint8_t>> bodies);

// A Merkle proof (crypto) in the signed-record form (protocol), with the
// root signature every member of its batch carries.
protocol::BatchProofData ToBatchProof(crypto::MerkleProof proof,
                                      const crypto::Ed25519Signature& root);

// Remembers batch roots whose signature already verified, so the N records
// of one batch cost one Ed25519 verification, not N.
class BatchRootCache {
 public:
  bool Contains(const crypto::Ed25519PublicKey& origin,
                const std::array<uint8_t, 32>& root, uint64_t tree_size,
                const std::array<uint8_t, 64>& signature) const;
  void Add(const crypto::Ed25519PublicKey& origin,
           const std::array<uint8_t, 32>& root, uint64_t tree_size,
           const std::array<uint8_t, 64>& signature);

 private:
  // Bounded: a hostile peer sending many batches cannot grow it forever.
  static constexpr size_t kMaxEntries = 4096;
  std::map<std::vector<uint8_t>, bool> verified_;
};

// True iff `record`'s signature (single or batch proof) is valid for its
// body under `origin`. `cache` may be null.
bool VerifySignedRecord(const protocol::SignedRecord& record,
                        const crypto::Ed25519PublicKey& origin,
                        BatchRootCache* cache = nullptr);

}  // namespace caravan::daemon
