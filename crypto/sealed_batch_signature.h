#pragma once
// The sender's signature inside a sealed batch (hub mode, docs/wire.md).
//
// A sealed envelope (crypto/seal.h) is anonymous: anyone, the hub
// included, can seal to a recipient. The sender therefore signs the
// envelope header (which names it, the recipient and its log range)
// together with the plaintext batch, and the signature travels inside the
// ciphertext. The recipient then knows the batch and its sequence numbers
// come from the member the header names, not from the hub.
//
//   message = "caravan/1 sealed batch\0" || u32be(len(header)) || header
//             || batch
//
// Ed25519 over `message` (crypto_sign_detached). Stateless, thread-safe.

#include <cstdint>
#include <span>

#include "crypto/identity_key.h"

namespace caravan::crypto {

// Never fails.
Ed25519Signature SignSealedBatch(const IdentityKey& sender,
                                 std::span<const uint8_t> header,
                                 std::span<const uint8_t> batch);

// True iff `sig` is `sender`'s signature over that header and batch.
bool VerifySealedBatch(const Ed25519PublicKey& sender,
                       std::span<const uint8_t> header,
                       std::span<const uint8_t> batch,
                       const Ed25519Signature& sig);

}  // namespace caravan::crypto
