#include "crypto/identity_key.h"

#include <sodium.h>

namespace caravan::crypto {

std::unique_ptr<IdentityKey> IdentityKey::Generate() {
  EnsureSodium();
  SecretBytes<32> seed;
  randombytes_buf(seed.data(), seed.size());
  return FromSeed(seed.span());
}

std::unique_ptr<IdentityKey> IdentityKey::FromSeed(
    std::span<const uint8_t, 32> seed) {
  EnsureSodium();
  std::unique_ptr<IdentityKey> key(new IdentityKey());
  crypto_sign_seed_keypair(key->public_key_.data(), key->secret_key_.data(),
                           seed.data());
  return key;
}

Ed25519Signature IdentityKey::SignRaw(std::span<const uint8_t> msg) const {
  Ed25519Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(),
                       secret_key_.data());
  return sig;
}

}  // namespace caravan::crypto
