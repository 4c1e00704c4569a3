#include "crypto/link_certificate.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

namespace caravan::crypto {
namespace {

constexpr std::string_view kLinkKeyPrefix = "caravan/1 link key";
static_assert(kLinkKeyPrefix.size() == 18);

}  // namespace

std::array<uint8_t, 50> LinkCertificateMessage(const X25519PublicKey& link_key) {
  std::array<uint8_t, 50> msg{};
  std::copy(kLinkKeyPrefix.begin(), kLinkKeyPrefix.end(), msg.begin());
  std::copy(link_key.begin(), link_key.end(), msg.begin() + kLinkKeyPrefix.size());
  return msg;
}

Ed25519Signature CertifyLinkKey(const IdentityKey& identity,
                                const X25519PublicKey& link_key) {
  return identity.SignRaw(LinkCertificateMessage(link_key));
}

bool VerifyLinkCertificate(const Ed25519PublicKey& identity,
                           const X25519PublicKey& link_key,
                           const Ed25519Signature& sig) {
  EnsureSodium();
  auto msg = LinkCertificateMessage(link_key);
  return crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(),
                                     identity.data()) == 0;
}

HandshakePayload BuildHandshakePayload(const IdentityKey& identity,
                                       const X25519PublicKey& link_key) {
  HandshakePayload out{};
  const Ed25519PublicKey& pk = identity.public_key();
  Ed25519Signature sig = CertifyLinkKey(identity, link_key);
  std::copy(pk.begin(), pk.end(), out.begin());
  std::copy(sig.begin(), sig.end(), out.begin() + pk.size());
  return out;
}

std::optional<Ed25519PublicKey> VerifyHandshakePayload(
    std::span<const uint8_t> payload, const X25519PublicKey& remote_static) {
  if (payload.size() != kHandshakePayloadSize) return std::nullopt;
  Ed25519PublicKey identity{};
  Ed25519Signature sig{};
  std::copy_n(payload.begin(), identity.size(), identity.begin());
  std::copy_n(payload.begin() + identity.size(), sig.size(), sig.begin());
  if (!VerifyLinkCertificate(identity, remote_static, sig)) return std::nullopt;
  return identity;
}

}  // namespace caravan::crypto
