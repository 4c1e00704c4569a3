#include "daemon/sync/origin_signer.h"

namespace caravan::daemon::sync {
namespace {

// Whether `key` is one `origin`'s chain retired at or before `created`:
// a key that signed while it was no longer the member's.
bool RetiredBefore(const KeyChains& chains, const protocol::PublicKey& origin,
                   const protocol::PublicKey& key, int64_t created) {
  const protocol::PublicKey valid = chains.SignerAt(origin, created);
  if (key == valid) return false;
  for (auto k = origin; k != valid;) {
    if (k == key) return true;
    const crypto::RotationStatement* next = chains.RetiredBy(k);
    if (next == nullptr) break;
    k = next->new_key;
  }
  return false;
}

// Whether `key` comes after `valid` in its chain: a later key of the same
// member. It may sign a record created before it took over (a variant or a
// withdrawal of an old record, made after the rotation: the retired key
// signs nothing any more); it speaks for the member by the statements.
bool SuccessorOf(const KeyChains& chains, const protocol::PublicKey& valid,
                 const protocol::PublicKey& key) {
  protocol::PublicKey k = valid;
  for (size_t step = 0; step < kMaxRotationsPerChain; ++step) {
    const crypto::RotationStatement* next = chains.RetiredBy(k);
    if (next == nullptr) return false;
    k = next->new_key;
    if (k == key) return true;
  }
  return false;
}

}  // namespace

SignerVerdict CheckRecordSigner(const KeyChains& chains, const protocol::SignedRecord& record,
                                const protocol::RecordBody& body, BatchRootCache* cache) {
  const protocol::PublicKey signer = chains.SignerAt(body.origin, body.created);
  if (VerifySignedRecord(record, signer, cache)) return SignerVerdict::kGood;
  // A later key of the chain (SuccessorOf).
  protocol::PublicKey later = signer;
  for (size_t step = 0; step < kMaxRotationsPerChain; ++step) {
    const crypto::RotationStatement* next = chains.RetiredBy(later);
    if (next == nullptr) break;
    later = next->new_key;
    if (VerifySignedRecord(record, later, cache)) return SignerVerdict::kGood;
  }
  if (signer == body.origin) return SignerVerdict::kBadSignature;
  // Which retired key signed it is worth the extra checks only on this
  // (rare, refused) path; the chain is short.
  for (auto k = body.origin; k != signer;) {
    if (VerifySignedRecord(record, k)) return SignerVerdict::kRetiredKey;
    const crypto::RotationStatement* next = chains.RetiredBy(k);
    if (next == nullptr) break;
    k = next->new_key;
  }
  return SignerVerdict::kBadSignature;
}

SignerVerdict CheckBatchSigner(const KeyChains& chains,
                               const protocol::PublicKey& batch_signer,
                               const protocol::RecordBody& body) {
  const protocol::PublicKey valid = chains.SignerAt(body.origin, body.created);
  if (valid == batch_signer || SuccessorOf(chains, valid, batch_signer)) {
    return SignerVerdict::kGood;
  }
  if (RetiredBefore(chains, body.origin, batch_signer, body.created)) {
    return SignerVerdict::kRetiredKey;
  }
  return SignerVerdict::kBadSignature;
}

}  // namespace caravan::daemon::sync
