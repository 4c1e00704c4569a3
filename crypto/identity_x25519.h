#pragma once
// Identity keys as sealed-envelope recipient keys (DESIGN.md, Hub mode).
//
// A record sealed for a member reached through a hub is wrapped for that
// member's X25519 key, derived from the Ed25519 identity key the roster
// already pins (libsodium's crypto_sign_ed25519_pk_to_curve25519 /
// crypto_sign_ed25519_sk_to_curve25519). No second key has to be
// exchanged, and only the holder of the identity secret can open.
//
// Ownership: the derived secret lives in a LinkKey (sodium_malloc'd memory,
// wiped on free); intermediate secrets are wiped before returning.
// Thread-safety: stateless functions, safe from any thread.

#include <memory>
#include <optional>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"

namespace caravan::crypto {

// The X25519 public key matching an Ed25519 identity public key. nullopt
// when `identity` is not a valid Ed25519 point (or a small-order one), so
// nothing can be sealed to it.
std::optional<X25519PublicKey> IdentityToX25519Public(
    const Ed25519PublicKey& identity);

// The X25519 key pair matching `identity`: its public half equals
// IdentityToX25519Public(identity.public_key()). Never fails.
std::unique_ptr<LinkKey> IdentityToX25519Key(const IdentityKey& identity);

}  // namespace caravan::crypto
