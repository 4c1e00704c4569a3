#pragma once
// Text forms of keys and bytes that operators read, paste and compare.
//
// KeyText: "caravan:" followed by the 32-byte Ed25519 public key in base64url
// without padding (43 characters), e.g. "caravan:3q2-7w...". Fingerprint: the
// first 10 bytes of BLAKE2b-256(public key) as lowercase hex in five groups
// of four separated by ':', e.g. "1a2b:3c4d:5e6f:7081:92a3" -- short enough
// to read aloud over the phone when two CERTs pin each other's keys.
//
// All functions are pure and thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/identity_key.h"

namespace caravan::crypto {

inline constexpr std::string_view kKeyTextPrefix = "caravan:";

// "caravan:" + base64url(no padding) of the key.
std::string KeyText(const Ed25519PublicKey& key);

// Strict inverse of KeyText: exact prefix, exactly 43 base64url characters,
// canonical encoding, no whitespace. Returns nullopt otherwise.
std::optional<Ed25519PublicKey> ParseKeyText(std::string_view text);

// Short human-comparable fingerprint (see above).
std::string Fingerprint(const Ed25519PublicKey& key);

// Lowercase hex.
std::string ToHex(std::span<const uint8_t> bytes);

// Strict hex decoding (upper or lower case, even length, nothing else).
// Returns nullopt on any other character or an odd length.
std::optional<std::vector<uint8_t>> FromHex(std::string_view hex);

}  // namespace caravan::crypto
