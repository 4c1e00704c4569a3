#pragma once
// Domain-separated Ed25519 signatures for records and batch roots.
//
// A signature made for one purpose must never verify for another, so every
// signed message is prefixed with a fixed ASCII string naming its domain,
// including the terminating NUL byte (so no prefix is a prefix of another):
//
//   SignDomain::kRecord     "caravan/1 record\0"      (17 bytes)
//   SignDomain::kBatchRoot  "caravan/1 batch root\0"  (21 bytes)
//
// The Ed25519 message is prefix || msg, signed with crypto_sign_detached.
// Messages are small (one canonical record, or 40 bytes of batch root), so
// the concatenation is built in a buffer rather than using a multi-part API
// (Ed25519ph would be a different signature scheme).
//
// The link certificate has its own fixed bytes (crypto/link_certificate.h)
// and does not go through this header. All functions are thread-safe.

#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/identity_key.h"

namespace caravan::crypto {

enum class SignDomain { kRecord, kBatchRoot };

// The exact prefix bytes for `domain`, including the trailing NUL.
std::span<const uint8_t> SignDomainPrefix(SignDomain domain);

// Signature over SignDomainPrefix(domain) || msg. Never fails.
Ed25519Signature Sign(const IdentityKey& key, SignDomain domain,
                      std::span<const uint8_t> msg);

// True iff `sig` is a valid signature by `key` over prefix(domain) || msg.
bool Verify(const Ed25519PublicKey& key, SignDomain domain,
            std::span<const uint8_t> msg, const Ed25519Signature& sig);

}  // namespace caravan::crypto
