#pragma once
// IdentityKey: a node's Ed25519 identity key pair. It signs records and
// batch roots and certifies the node's link key; its public half names the
// node in the roster.
//
// Ownership: the 64-byte libsodium secret key (seed || public key) lives in
// SecretBytes (sodium_malloc'd, wiped on free). IdentityKey is non-copyable;
// hand it around as std::unique_ptr or by reference.
// Thread-safety: all methods are const and safe to call concurrently.

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "crypto/secret_bytes.h"

namespace caravan::crypto {

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

class IdentityKey {
 public:
  // A fresh key pair from the system RNG. Never fails (aborts if libsodium
  // cannot initialise).
  static std::unique_ptr<IdentityKey> Generate();

  // The key pair deterministically derived from a 32-byte seed (the form
  // stored in key files). Never fails.
  static std::unique_ptr<IdentityKey> FromSeed(std::span<const uint8_t, 32> seed);

  IdentityKey(const IdentityKey&) = delete;
  IdentityKey& operator=(const IdentityKey&) = delete;

  const Ed25519PublicKey& public_key() const { return public_key_; }

  // Ed25519 signature over `msg` exactly as given, with no domain prefix.
  // Use Sign() in crypto/signing.h for records and batch roots; raw signing
  // is for formats whose bytes are fixed elsewhere (the link certificate).
  Ed25519Signature SignRaw(std::span<const uint8_t> msg) const;

  // The 32-byte seed. Only for writing key files; never log it.
  std::span<const uint8_t, 32> seed() const {
    return std::span<const uint8_t, 32>(secret_key_.data(), 32);
  }

 private:
  IdentityKey() = default;

  SecretBytes<64> secret_key_;  // libsodium layout: seed || public key
  Ed25519PublicKey public_key_{};
};

}  // namespace caravan::crypto
