#include "crypto/sealed_batch_signature.h"

#include <sodium.h>

#include <vector>

#include "crypto/sodium_init.h"

namespace caravan::crypto {
namespace {

// sizeof includes the NUL, which is part of the prefix (domain separation
// from "caravan/1 record\0" and "caravan/1 batch root\0").
constexpr char kPrefix[] = "caravan/1 sealed batch";

std::vector<uint8_t> Message(std::span<const uint8_t> header,
                             std::span<const uint8_t> batch) {
  std::vector<uint8_t> m;
  m.reserve(sizeof kPrefix + 4 + header.size() + batch.size());
  m.insert(m.end(), kPrefix, kPrefix + sizeof kPrefix);
  const uint32_t n = static_cast<uint32_t>(header.size());
  for (int i = 3; i >= 0; --i) m.push_back(static_cast<uint8_t>(n >> (8 * i)));
  m.insert(m.end(), header.begin(), header.end());
  m.insert(m.end(), batch.begin(), batch.end());
  return m;
}

}  // namespace

Ed25519Signature SignSealedBatch(const IdentityKey& sender,
                                 std::span<const uint8_t> header,
                                 std::span<const uint8_t> batch) {
  return sender.SignRaw(Message(header, batch));
}

bool VerifySealedBatch(const Ed25519PublicKey& sender,
                       std::span<const uint8_t> header,
                       std::span<const uint8_t> batch,
                       const Ed25519Signature& sig) {
  EnsureSodium();
  const std::vector<uint8_t> m = Message(header, batch);
  return crypto_sign_verify_detached(sig.data(), m.data(), m.size(),
                                     sender.data()) == 0;
}

}  // namespace caravan::crypto
