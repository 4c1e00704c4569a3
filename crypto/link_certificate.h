#pragma once
// Link certificates: the identity key vouching for the static X25519 link key
// used in the Noise handshake (DESIGN.md, Links).
//
// Exact bytes: the certificate is an Ed25519 signature by the identity key
// over the 18 ASCII bytes "caravan/1 link key" (no NUL) followed by the
// 32-byte static X25519 public key (50 bytes in all).
//
// Handshake payload (Noise XX messages 2 and 3): exactly 96 bytes, the
// sender's 32-byte Ed25519 identity public key followed by the 64-byte
// certificate over the sender's static key from the same handshake.
//
// All functions are pure and thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"

namespace caravan::crypto {

inline constexpr size_t kHandshakePayloadSize = 96;
using HandshakePayload = std::array<uint8_t, kHandshakePayloadSize>;

// The 50 bytes that a link certificate signs.
std::array<uint8_t, 50> LinkCertificateMessage(const X25519PublicKey& link_key);

// Signature by `identity` over LinkCertificateMessage(link_key).
Ed25519Signature CertifyLinkKey(const IdentityKey& identity,
                                const X25519PublicKey& link_key);

// True iff `sig` certifies `link_key` under `identity`.
bool VerifyLinkCertificate(const Ed25519PublicKey& identity,
                           const X25519PublicKey& link_key,
                           const Ed25519Signature& sig);

// identity public key || CertifyLinkKey(identity, link_key).
HandshakePayload BuildHandshakePayload(const IdentityKey& identity,
                                       const X25519PublicKey& link_key);

// Checks a received handshake payload against the remote static key the
// Noise handshake authenticated. Returns the sender's identity public key on
// success; nullopt if the payload is not exactly 96 bytes or the certificate
// does not verify. The caller still checks the identity against its roster.
std::optional<Ed25519PublicKey> VerifyHandshakePayload(
    std::span<const uint8_t> payload, const X25519PublicKey& remote_static);

}  // namespace caravan::crypto
