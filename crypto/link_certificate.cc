#include "crypto/link_certificate.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

#include "crypto/big_endian.h"

namespace caravan::crypto {
namespace {

constexpr std::string_view kLinkKeyPrefix = "caravan/1 link key";
constexpr std::string_view kLinkKeyPrefixV2 = "caravan/2 link key";
static_assert(kLinkKeyPrefix.size() == 18);
static_assert(kLinkKeyPrefixV2.size() == 18);

std::nullopt_t Fail(std::string* error, const char* why) {
  if (error != nullptr) *error = why;
  return std::nullopt;
}

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

std::array<uint8_t, 98> LinkCertificateMessageV2(const Ed25519PublicKey& identity,
                                                 const X25519PublicKey& link_key,
                                                 uint64_t serial, int64_t not_before) {
  std::array<uint8_t, 98> msg{};
  uint8_t* p = msg.data();
  p = std::copy(kLinkKeyPrefixV2.begin(), kLinkKeyPrefixV2.end(), p);
  p = std::copy(identity.begin(), identity.end(), p);
  p = std::copy(link_key.begin(), link_key.end(), p);
  PutBigEndian(serial, p);
  PutBigEndian(static_cast<uint64_t>(not_before), p + 8);
  return msg;
}

std::vector<uint8_t> BuildLinkPayload(const IdentityKey& identity,
                                      const X25519PublicKey& link_key, uint64_t serial,
                                      int64_t not_before) {
  if (serial == 0) {
    HandshakePayload v1 = BuildHandshakePayload(identity, link_key);
    return {v1.begin(), v1.end()};
  }
  const Ed25519PublicKey& pk = identity.public_key();
  const Ed25519Signature sig =
      identity.SignRaw(LinkCertificateMessageV2(pk, link_key, serial, not_before));
  std::vector<uint8_t> out(kHandshakePayloadV2Size);
  uint8_t* p = std::copy(pk.begin(), pk.end(), out.data());
  PutBigEndian(serial, p);
  PutBigEndian(static_cast<uint64_t>(not_before), p + 8);
  std::copy(sig.begin(), sig.end(), p + 16);
  return out;
}

std::optional<LinkCertificate> ParseLinkPayload(std::span<const uint8_t> payload,
                                                std::string* error) {
  LinkCertificate cert;
  if (payload.size() == kHandshakePayloadSize) {
    std::copy_n(payload.begin(), cert.identity.size(), cert.identity.begin());
    std::copy_n(payload.begin() + cert.identity.size(), cert.signature.size(),
                cert.signature.begin());
    return cert;
  }
  if (payload.size() != kHandshakePayloadV2Size) {
    return Fail(error, "link certificate is neither 96 nor 112 bytes");
  }
  const uint8_t* p = payload.data();
  std::copy_n(p, cert.identity.size(), cert.identity.begin());
  p += cert.identity.size();
  cert.serial = GetBigEndian(p);
  cert.not_before = static_cast<int64_t>(GetBigEndian(p + 8));
  std::copy_n(p + 16, cert.signature.size(), cert.signature.begin());
  if (cert.serial == 0) {
    return Fail(error, "link certificate of 112 bytes has serial 0 (serial 0 uses 96)");
  }
  return cert;
}

std::optional<LinkCertificate> VerifyLinkPayload(std::span<const uint8_t> payload,
                                                 const X25519PublicKey& remote_static,
                                                 std::string* error) {
  std::optional<LinkCertificate> cert = ParseLinkPayload(payload, error);
  if (!cert) return std::nullopt;
  EnsureSodium();
  bool good = false;
  if (cert->serial == 0) {
    good = VerifyLinkCertificate(cert->identity, remote_static, cert->signature);
  } else {
    const auto msg = LinkCertificateMessageV2(cert->identity, remote_static, cert->serial,
                                              cert->not_before);
    good = crypto_sign_verify_detached(cert->signature.data(), msg.data(), msg.size(),
                                       cert->identity.data()) == 0;
  }
  if (!good) {
    return Fail(error,
                "link key certificate does not verify against the handshake's static key");
  }
  return cert;
}

std::optional<Ed25519PublicKey> VerifyHandshakePayload(
    std::span<const uint8_t> payload, const X25519PublicKey& remote_static) {
  auto cert = VerifyLinkPayload(payload, remote_static);
  if (!cert) return std::nullopt;
  return cert->identity;
}

}  // namespace caravan::crypto
