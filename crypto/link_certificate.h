#pragma once
// Link certificates: the identity key vouching for the static X25519 link key
// used in the Noise handshake (DESIGN.md, Links; docs/wire.md).
//
// Two forms, both checked against the static key the Noise handshake
// authenticated:
//
// Serial 0, the original form (a link key never rotated; wire-compatible
// with nodes that predate rotation). The certificate is an Ed25519
// signature by the identity key over the 18 ASCII bytes
// "caravan/1 link key" followed by the 32-byte static key (50 bytes). Its
// handshake payload is exactly 96 bytes: identity public key (32) ||
// signature (64).
//
// Serial >= 1, a rotated link key (`caravan key rotate --link`). The
// certificate signs the 98 bytes
//   "caravan/2 link key" (18 ASCII bytes, no NUL)
//   || identity public key (32) || link public key (32)
//   || serial (8, big-endian unsigned) || not_before (8, big-endian signed,
//      unix seconds)
// and its handshake payload is exactly 112 bytes: identity public key (32)
// || serial (8) || not_before (8) || signature (64). The different prefix
// keeps the two forms' signatures from ever standing in for each other.
//
// The serial orders a node's link keys: every rotation certifies the new key
// with a higher serial, and a peer refuses a certificate whose serial is
// below the highest it has seen for that identity (LinkManager), which is
// how an old link key stops working the moment its successor is seen.
//
// All functions are pure and thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"

namespace caravan::crypto {

inline constexpr size_t kHandshakePayloadSize = 96;     // serial 0
inline constexpr size_t kHandshakePayloadV2Size = 112;  // serial >= 1
using HandshakePayload = std::array<uint8_t, kHandshakePayloadSize>;

// The 50 bytes that a serial-0 link certificate signs.
std::array<uint8_t, 50> LinkCertificateMessage(const X25519PublicKey& link_key);

// Signature by `identity` over LinkCertificateMessage(link_key).
Ed25519Signature CertifyLinkKey(const IdentityKey& identity,
                                const X25519PublicKey& link_key);

// True iff `sig` certifies `link_key` under `identity` (serial 0 form).
bool VerifyLinkCertificate(const Ed25519PublicKey& identity,
                           const X25519PublicKey& link_key,
                           const Ed25519Signature& sig);

// identity public key || CertifyLinkKey(identity, link_key) (serial 0).
HandshakePayload BuildHandshakePayload(const IdentityKey& identity,
                                       const X25519PublicKey& link_key);

// A link certificate as carried in a handshake payload, not yet verified.
struct LinkCertificate {
  Ed25519PublicKey identity{};
  uint64_t serial = 0;      // 0: the original 96-byte form
  int64_t not_before = 0;   // unix seconds; 0 in the original form
  Ed25519Signature signature{};
};

// The 98 bytes that a serial >= 1 certificate signs.
std::array<uint8_t, 98> LinkCertificateMessageV2(const Ed25519PublicKey& identity,
                                                 const X25519PublicKey& link_key,
                                                 uint64_t serial, int64_t not_before);

// The handshake payload certifying `link_key` under `identity`: the 96-byte
// form for serial 0, the 112-byte form otherwise.
std::vector<uint8_t> BuildLinkPayload(const IdentityKey& identity,
                                      const X25519PublicKey& link_key, uint64_t serial,
                                      int64_t not_before);

// Splits a handshake payload into its fields without checking the
// signature. nullopt (and *error, if given, saying why) unless it is exactly
// 96 or 112 bytes, and a 112-byte one has a serial >= 1 (serial 0 has only
// the 96-byte form, so one certificate has one encoding).
std::optional<LinkCertificate> ParseLinkPayload(std::span<const uint8_t> payload,
                                                std::string* error = nullptr);

// Parses `payload` and checks its signature against `remote_static`, the
// static key the Noise handshake authenticated. The certificate on success;
// nullopt and *error (if given) otherwise. The caller still checks the
// identity against its roster and the serial against the highest it has
// seen.
std::optional<LinkCertificate> VerifyLinkPayload(std::span<const uint8_t> payload,
                                                 const X25519PublicKey& remote_static,
                                                 std::string* error = nullptr);

// VerifyLinkPayload's identity (either form); nullopt if it does not verify.
std::optional<Ed25519PublicKey> VerifyHandshakePayload(
    std::span<const uint8_t> payload, const X25519PublicKey& remote_static);

}  // namespace caravan::crypto
