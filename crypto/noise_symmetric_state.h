#pragma once
// Internal to crypto/noise: SymmetricState (Noise section 5.2), holding the
// chaining key ck (secret), the handshake hash h and a CipherState.
// Not thread-safe; owned by one HandshakeState.

#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/noise.h"
#include "crypto/noise_hkdf.h"
#include "crypto/secret_bytes.h"

namespace caravan::crypto::noise_internal {

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name).
  explicit SymmetricState(std::string_view protocol_name);

  void MixKey(std::span<const uint8_t> ikm);
  void MixHash(std::span<const uint8_t> data);
  void MixKeyAndHash(std::span<const uint8_t> ikm);

  // Append the (en|de)crypted bytes to *out; false on failure (the state must
  // then be discarded).
  bool EncryptAndHash(std::span<const uint8_t> plaintext, std::vector<uint8_t>* out);
  bool DecryptAndHash(std::span<const uint8_t> ciphertext, std::vector<uint8_t>* out);

  std::pair<CipherState, CipherState> Split() const;

  bool HasKey() const { return cipher_.HasKey(); }
  const NoiseHash& h() const { return h_; }

 private:
  CipherState cipher_;
  SecretBytes<kHashLen> ck_;
  NoiseHash h_{};
};

}  // namespace caravan::crypto::noise_internal
