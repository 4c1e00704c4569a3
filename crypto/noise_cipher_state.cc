// CipherState of crypto/noise.h: ChaCha20-Poly1305 IETF with the Noise
// nonce layout.
#include <sodium.h>

#include <algorithm>
#include <limits>

#include "crypto/noise.h"

namespace caravan::crypto {
namespace {

constexpr uint64_t kMaxNonce = std::numeric_limits<uint64_t>::max();

// Noise ChaChaPoly: 32 bits of zeros, then the counter little-endian.
std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> NonceBytes(uint64_t n) {
  std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> out{};
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return out;
}

}  // namespace

void CipherState::InitializeKey(std::span<const uint8_t, 32> key) {
  // Reuse the secure allocation across MixKey calls.
  if (key_ && key_->valid()) {
    std::copy(key.begin(), key.end(), key_->data());
  } else {
    key_.emplace(key);
  }
  nonce_ = 0;
}

bool CipherState::EncryptWithAd(std::span<const uint8_t> ad,
                                std::span<const uint8_t> plaintext,
                                std::vector<uint8_t>* out) {
  if (!key_) {
    if (plaintext.size() > kNoiseMaxMessage) return false;
    out->insert(out->end(), plaintext.begin(), plaintext.end());
    return true;
  }
  if (plaintext.size() > kNoiseMaxPayload || nonce_ == kMaxNonce) return false;
  size_t offset = out->size();
  out->resize(offset + plaintext.size() + kNoiseTagSize);
  auto nonce = NonceBytes(nonce_);
  unsigned long long clen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out->data() + offset, &clen,
                                            plaintext.data(), plaintext.size(),
                                            ad.data(), ad.size(), nullptr,
                                            nonce.data(), key_->data());
  ++nonce_;
  return true;
}

bool CipherState::DecryptWithAd(std::span<const uint8_t> ad,
                                std::span<const uint8_t> ciphertext,
                                std::vector<uint8_t>* out) {
  if (ciphertext.size() > kNoiseMaxMessage) return false;
  if (!key_) {
    out->insert(out->end(), ciphertext.begin(), ciphertext.end());
    return true;
  }
  if (ciphertext.size() < kNoiseTagSize || nonce_ == kMaxNonce) return false;
  size_t offset = out->size();
  out->resize(offset + ciphertext.size() - kNoiseTagSize);
  auto nonce = NonceBytes(nonce_);
  unsigned long long mlen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          out->data() + offset, &mlen, nullptr, ciphertext.data(),
          ciphertext.size(), ad.data(), ad.size(), nonce.data(),
          key_->data()) != 0) {
    out->resize(offset);
    return false;
  }
  ++nonce_;
  return true;
}

std::optional<std::vector<uint8_t>> CipherState::Encrypt(
    std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> out;
  if (!EncryptWithAd({}, plaintext, &out)) return std::nullopt;
  return out;
}

std::optional<std::vector<uint8_t>> CipherState::Decrypt(
    std::span<const uint8_t> ciphertext) {
  std::vector<uint8_t> out;
  if (!DecryptWithAd({}, ciphertext, &out)) return std::nullopt;
  return out;
}

void CipherState::Rekey() {
  if (!key_) return;
  uint8_t zeros[32] = {};
  uint8_t block[32 + kNoiseTagSize];
  auto nonce = NonceBytes(kMaxNonce);
  unsigned long long clen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(block, &clen, zeros, sizeof zeros,
                                            nullptr, 0, nullptr, nonce.data(),
                                            key_->data());
  std::copy(block, block + 32, key_->data());
  sodium_memzero(block, sizeof block);
}

}  // namespace caravan::crypto
