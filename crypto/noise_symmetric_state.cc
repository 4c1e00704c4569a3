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

void SymmetricState::MixKey(std::span<const uint8_t> ikm) {
  SecretBytes<kHashLen> new_ck;
  SecretBytes<kHashLen> temp_k;
  Hkdf(ck_.span(), ikm, new_ck.span(), temp_k.span(), {});
  ck_ = std::move(new_ck);
  cipher_.InitializeKey(std::span<const uint8_t, 32>(temp_k.data(), 32));
}

void SymmetricState::MixHash(std::span<const uint8_t> data) {
  NoiseHash next{};
  Hash2(h_, data, next);
  h_ = next;
}

void SymmetricState::MixKeyAndHash(std::span<const uint8_t> ikm) {
  SecretBytes<kHashLen> new_ck;
  SecretBytes<kHashLen> temp_h;
  SecretBytes<kHashLen> temp_k;
  Hkdf(ck_.span(), ikm, new_ck.span(), temp_h.span(), temp_k.span());
  ck_ = std::move(new_ck);
  MixHash(temp_h.span());
  cipher_.InitializeKey(std::span<const uint8_t, 32>(temp_k.data(), 32));
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
  SecretBytes<kHashLen> k1;
  SecretBytes<kHashLen> k2;
  Hkdf(ck_.span(), {}, k1.span(), k2.span(), {});
  return {CipherState(std::span<const uint8_t, 32>(k1.data(), 32)),
          CipherState(std::span<const uint8_t, 32>(k2.data(), 32))};
}

}  // namespace caravan::crypto::noise_internal
