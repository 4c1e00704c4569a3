#include "crypto/noise_symmetric_state.h"

#include <sodium.h>

#include <algorithm>

namespace caravan::crypto::noise_internal {

SymmetricState::SymmetricState(std::string_view protocol_name) {
  EnsureSodium();
  if (protocol_name.size() <= kHashLen) {
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    Hash2({reinterpret_cast<const uint8_t*>(protocol_name.data()), protocol_name.size()},
          {}, h_);
  }
  std::copy(h_.begin(), h_.end(), ck_.data());
}

// Temporaries are stack arrays wiped before return rather than SecretBytes:
// a handshake does a dozen of these and sodium_malloc costs several syscalls.
void SymmetricState::MixKey(std::span<const uint8_t> ikm) {
  uint8_t new_ck[kHashLen];
  uint8_t temp_k[kHashLen];
  Hkdf(ck_.span(), ikm, new_ck, temp_k, {});
  std::copy(std::begin(new_ck), std::end(new_ck), ck_.data());
  cipher_.InitializeKey(std::span<const uint8_t, 32>(temp_k, 32));
  sodium_memzero(new_ck, sizeof new_ck);
  sodium_memzero(temp_k, sizeof temp_k);
}

void SymmetricState::MixHash(std::span<const uint8_t> data) {
  NoiseHash next{};
  Hash2(h_, data, next);
  h_ = next;
}

void SymmetricState::MixKeyAndHash(std::span<const uint8_t> ikm) {
  uint8_t new_ck[kHashLen];
  uint8_t temp_h[kHashLen];
  uint8_t temp_k[kHashLen];
  Hkdf(ck_.span(), ikm, new_ck, temp_h, temp_k);
  std::copy(std::begin(new_ck), std::end(new_ck), ck_.data());
  MixHash(temp_h);
  cipher_.InitializeKey(std::span<const uint8_t, 32>(temp_k, 32));
  sodium_memzero(new_ck, sizeof new_ck);
  sodium_memzero(temp_k, sizeof temp_k);
}

bool SymmetricState::EncryptAndHash(std::span<const uint8_t> plaintext,
                                    std::vector<uint8_t>* out) {
  size_t offset = out->size();
  if (!cipher_.EncryptWithAd(h_, plaintext, out)) return false;
  MixHash(std::span<const uint8_t>(out->data() + offset, out->size() - offset));
  return true;
}

bool SymmetricState::DecryptAndHash(std::span<const uint8_t> ciphertext,
                                    std::vector<uint8_t>* out) {
  if (!cipher_.DecryptWithAd(h_, ciphertext, out)) return false;
  MixHash(ciphertext);
  return true;
}

std::pair<CipherState, CipherState> SymmetricState::Split() const {
  uint8_t k1[kHashLen];
  uint8_t k2[kHashLen];
  Hkdf(ck_.span(), {}, k1, k2, {});
  std::pair<CipherState, CipherState> out{
      CipherState(std::span<const uint8_t, 32>(k1, 32)),
      CipherState(std::span<const uint8_t, 32>(k2, 32))};
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  return out;
}

}  // namespace caravan::crypto::noise_internal
