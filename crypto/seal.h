#pragma once
// Sealed multi-recipient envelopes: what a relay hub stores and forwards
// without being able to read it (DESIGN.md, Hub mode).
//
// A random 32-byte content key encrypts the plaintext once with
// XChaCha20-Poly1305-IETF; the content key is wrapped for each recipient's
// X25519 link key with crypto_box_seal (anonymous sender). The
// associated data is every envelope byte before the nonce (version, header
// and the whole recipient table), so changing the header, any recipient
// entry or the ciphertext makes the envelope fail to open for everyone.
//
// Byte format (integers big-endian):
//   u8    version = 1
//   u32   header length H  (<= kMaxSealHeader)
//   H     header (plaintext, e.g. routing information for the hub)
//   u16   recipient count R (1..kMaxSealRecipients)
//   R  x  { 8 bytes key id = first 8 bytes of BLAKE2b-256(recipient X25519
//           public key); 80 bytes crypto_box_seal(content key) }
//   24    nonce (random)
//   rest  ciphertext = plaintext + 16-byte tag (plaintext <= kMaxSealPlaintext)
//
// All functions are thread-safe; none keep state.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/link_key.h"

namespace caravan::crypto {

inline constexpr uint8_t kSealVersion = 1;
inline constexpr size_t kMaxSealHeader = 64 * 1024;
inline constexpr size_t kMaxSealRecipients = 1024;
inline constexpr size_t kMaxSealPlaintext = 16 * 1024 * 1024;

using SealKeyId = std::array<uint8_t, 8>;

// First 8 bytes of BLAKE2b-256(pk): lets a recipient find its entry.
SealKeyId SealRecipientKeyId(const X25519PublicKey& pk);

// Builds an envelope. Returns nullopt if there are no recipients or more
// than kMaxSealRecipients, or the header or plaintext exceed their limits.
// Duplicate recipients are wrapped once.
std::optional<std::vector<uint8_t>> Seal(std::span<const uint8_t> header,
                                         std::span<const uint8_t> plaintext,
                                         const std::vector<X25519PublicKey>& recipients);

// What anyone (the hub) can read without a key.
struct EnvelopeInfo {
  std::span<const uint8_t> header;     // points into the envelope
  std::vector<SealKeyId> recipients;   // key ids, in envelope order
};

// Parses the envelope's structure with bounds checks on every length.
// nullopt if malformed (wrong version, truncated, trailing garbage where
// structure is expected, limits exceeded).
std::optional<EnvelopeInfo> InspectEnvelope(std::span<const uint8_t> envelope);

struct OpenedEnvelope {
  std::vector<uint8_t> header;
  std::vector<uint8_t> plaintext;
};

// Opens an envelope with this node's link key. nullopt if malformed, `me` is
// not a recipient, or any authenticated byte was changed.
std::optional<OpenedEnvelope> Open(std::span<const uint8_t> envelope, const LinkKey& me);

}  // namespace caravan::crypto
