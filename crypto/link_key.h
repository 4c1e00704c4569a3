#pragma once
// LinkKey: an X25519 key pair. A node's static link key authenticates it in
// the Noise handshake (certified by its identity key, see
// crypto/link_certificate.h) and is the recipient key for sealed envelopes
// (crypto/seal.h). Noise also uses LinkKey for ephemeral key pairs.
//
// Ownership: the 32-byte secret scalar lives in SecretBytes (sodium_malloc'd,
// wiped on free). Non-copyable; hold it by std::unique_ptr or reference.
// Thread-safety: all methods are const and safe to call concurrently.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "crypto/secret_bytes.h"

namespace caravan::crypto {

using X25519PublicKey = std::array<uint8_t, 32>;
using X25519SharedSecret = SecretBytes<32>;

class LinkKey {
 public:
  // A fresh key pair from the system RNG. Never fails.
  static std::unique_ptr<LinkKey> Generate();

  // The key pair for a given 32-byte secret scalar (as stored in key files
  // and in Noise test vectors). Never fails: X25519 clamps any 32 bytes.
  static std::unique_ptr<LinkKey> FromSecret(std::span<const uint8_t, 32> secret);

  LinkKey(const LinkKey&) = delete;
  LinkKey& operator=(const LinkKey&) = delete;

  const X25519PublicKey& public_key() const { return public_key_; }

  // The secret scalar, for Noise, envelope opening and key files. Never log it.
  std::span<const uint8_t, 32> secret() const { return secret_.span(); }

  // X25519(secret, remote). Returns nullopt if the result is all zeros (the
  // remote key is a low-order point), which callers must treat as failure.
  std::optional<X25519SharedSecret> Dh(const X25519PublicKey& remote) const;

 private:
  LinkKey() = default;

  SecretBytes<32> secret_;
  X25519PublicKey public_key_{};
};

}  // namespace caravan::crypto
