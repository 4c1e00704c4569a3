#include "crypto/identity_x25519.h"

#include <sodium.h>

#include <cstdlib>

#include "crypto/secret_bytes.h"
#include "crypto/sodium_init.h"

namespace caravan::crypto {

std::optional<X25519PublicKey> IdentityToX25519Public(
    const Ed25519PublicKey& identity) {
  EnsureSodium();
  X25519PublicKey out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), identity.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

std::unique_ptr<LinkKey> IdentityToX25519Key(const IdentityKey& identity) {
  EnsureSodium();
  // libsodium converts the 64-byte secret key (seed || public key); rebuild
  // it from the seed in secure memory rather than widening IdentityKey.
  SecretBytes<crypto_sign_SECRETKEYBYTES> ed_secret;
  Ed25519PublicKey ed_public{};
  crypto_sign_seed_keypair(ed_public.data(), ed_secret.data(),
                           identity.seed().data());
  SecretBytes<crypto_scalarmult_curve25519_BYTES> x_secret;
  if (crypto_sign_ed25519_sk_to_curve25519(x_secret.data(),
                                           ed_secret.data()) != 0) {
    std::abort();  // cannot fail for a key libsodium made itself
  }
  return LinkKey::FromSecret(x_secret.span());
}

}  // namespace caravan::crypto
