#include "crypto/link_key.h"

#include <sodium.h>

#include <algorithm>

namespace caravan::crypto {

std::unique_ptr<LinkKey> LinkKey::Generate() {
  EnsureSodium();
  SecretBytes<32> secret;
  randombytes_buf(secret.data(), secret.size());
  return FromSecret(secret.span());
}

std::unique_ptr<LinkKey> LinkKey::FromSecret(std::span<const uint8_t, 32> secret) {
  EnsureSodium();
  std::unique_ptr<LinkKey> key(new LinkKey());
  std::copy(secret.begin(), secret.end(), key->secret_.data());
  crypto_scalarmult_base(key->public_key_.data(), key->secret_.data());
  return key;
}

std::optional<X25519SharedSecret> LinkKey::Dh(const X25519PublicKey& remote) const {
  X25519SharedSecret out;
  // crypto_scalarmult fails (-1) exactly when the output is all zeros.
  if (crypto_scalarmult(out.data(), secret_.data(), remote.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace caravan::crypto
