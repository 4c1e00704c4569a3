#include "crypto/signing.h"

#include <sodium.h>

#include <cstdlib>
#include <vector>

namespace caravan::crypto {
namespace {

// sizeof includes the trailing NUL, which is part of the prefix on purpose.
constexpr char kRecordPrefix[] = "caravan/1 record";
constexpr char kBatchRootPrefix[] = "caravan/1 batch root";

std::vector<uint8_t> Prefixed(SignDomain domain, std::span<const uint8_t> msg) {
  std::span<const uint8_t> prefix = SignDomainPrefix(domain);
  std::vector<uint8_t> buf;
  buf.reserve(prefix.size() + msg.size());
  buf.insert(buf.end(), prefix.begin(), prefix.end());
  buf.insert(buf.end(), msg.begin(), msg.end());
  return buf;
}

}  // namespace

std::span<const uint8_t> SignDomainPrefix(SignDomain domain) {
  switch (domain) {
    case SignDomain::kRecord:
      return {reinterpret_cast<const uint8_t*>(kRecordPrefix), sizeof kRecordPrefix};
    case SignDomain::kBatchRoot:
      return {reinterpret_cast<const uint8_t*>(kBatchRootPrefix),
              sizeof kBatchRootPrefix};
  }
  std::abort();  // unreachable: an out-of-range enum is a bug
}

Ed25519Signature Sign(const IdentityKey& key, SignDomain domain,
                      std::span<const uint8_t> msg) {
  return key.SignRaw(Prefixed(domain, msg));
}

bool Verify(const Ed25519PublicKey& key, SignDomain domain,
            std::span<const uint8_t> msg, const Ed25519Signature& sig) {
  EnsureSodium();
  std::vector<uint8_t> buf = Prefixed(domain, msg);
  return crypto_sign_verify_detached(sig.data(), buf.data(), buf.size(),
                                     key.data()) == 0;
}

}  // namespace caravan::crypto
