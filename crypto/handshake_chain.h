#pragma once
// The identity key chain a node presents in its handshake payload
// (docs/wire.md, "Rotation chain"): after its link certificate (96 or 112
// bytes, crypto/link_certificate.h) come 0 to kMaxHandshakeChain identity
// rotation statements (209 bytes each, crypto/identity_rotation.h), oldest
// first, each one's new key the next one's old key, the last one's new key
// the identity of the certificate. A peer that still pins an older key of
// the member (it was offline during the rotation) follows the chain from
// the key it holds to the key that signed the certificate, like a TLS
// client following intermediates to a root it trusts, or an SSH client
// checking a certificate against the CA key it pins.
//
// Here: structure only (lengths, contiguity, the end at the certificate's
// identity); each statement's signatures are verified by
// VerifyRotationSignatures, and whether the chain starts at a key the
// receiver trusts is the receiver's question (daemon/node). Pure functions;
// thread-safe.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/identity_rotation.h"

namespace caravan::crypto {

// The most statements a handshake payload carries: a peer offline across
// more rotations than this learns the older ones from any member over the
// link (every node sends every statement it holds), or by hand.
inline constexpr size_t kMaxHandshakeChain = 4;

struct SplitPayload {
  std::span<const uint8_t> certificate;      // 96 or 112 bytes
  std::vector<RotationStatement> chain;       // oldest first; may be empty
};

// Whether a payload of `size` bytes is a certificate of 96 or 112 bytes
// followed by at most kMaxHandshakeChain statements.
bool IsHandshakePayloadSize(size_t size);

// Splits `payload` into the certificate and the chain, parsing each
// statement (ParseRotationStatement: structure, not signatures) and
// checking the chain is contiguous. Does not check the certificate (see
// VerifyLinkPayload) nor that the chain ends at its identity (the caller
// knows that identity once the certificate verifies: ChainEndsAt).
// nullopt and *error (if given) saying what was wrong.
std::optional<SplitPayload> SplitHandshakePayload(std::span<const uint8_t> payload,
                                                  std::string* error = nullptr);

// True iff `chain` is empty or its last statement's new key is `identity`.
bool ChainEndsAt(const std::vector<RotationStatement>& chain,
                 const Ed25519PublicKey& identity);

// The bytes a node appends to its certificate: the last kMaxHandshakeChain
// statements of `chain` (oldest first, contiguous, ending at its key).
std::vector<uint8_t> EncodeHandshakeChain(const std::vector<RotationStatement>& chain);

}  // namespace caravan::crypto
