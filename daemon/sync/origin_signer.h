#pragma once
// Which key must have signed a received record, given identity key
// rotations (docs/federation.md, "Identity key rotation"): the key of the
// record's origin chain valid at the record's `created` time
// (KeyChains::SignerAt). A record created at or after a rotation but
// signed by the key it retired is refused as `retired_key`, not as a bad
// signature: it is a well-formed signature by a key that no longer speaks
// for the member (a thief's, or a node that missed its own rotation).
// A LATER key of the chain may sign a record created before it took over:
// after a rotation the member re-signs variants and withdrawals of its old
// records with its current key (its retired key signs nothing any more).
//
// Pure functions; thread-safe except for the optional cache (see
// record_signing.h).

#include "daemon/sync/key_chain.h"
#include "daemon/sync/record_signing.h"
#include "protocol/record_codec.h"

namespace caravan::daemon::sync {

enum class SignerVerdict { kGood, kRetiredKey, kBadSignature };

// A record carrying its own signature (single or batch proof).
SignerVerdict CheckRecordSigner(const KeyChains& chains, const protocol::SignedRecord& record,
                                const protocol::RecordBody& body,
                                BatchRootCache* cache = nullptr);

// A leaf of a whole batch whose root `batch_signer` signed (and verified).
SignerVerdict CheckBatchSigner(const KeyChains& chains,
                               const protocol::PublicKey& batch_signer,
                               const protocol::RecordBody& body);

}  // namespace caravan::daemon::sync
