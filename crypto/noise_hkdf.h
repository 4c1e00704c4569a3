#pragma once
// Internal to crypto/noise: HASH, HMAC-HASH and HKDF of Noise section 4.3
// for HASH = BLAKE2b-512 (HASHLEN 64, BLOCKLEN 128). libsodium's HMACs use
// SHA-2, so HMAC-BLAKE2b is composed per RFC 2104 from crypto_generichash.
// Pure functions; thread-safe.

#include <cstdint>
#include <span>

namespace caravan::crypto::noise_internal {

inline constexpr size_t kHashLen = 64;
inline constexpr size_t kBlockLen = 128;

// BLAKE2b-512(a || b).
void Hash2(std::span<const uint8_t> a, std::span<const uint8_t> b,
           std::span<uint8_t, kHashLen> out);

// HMAC-BLAKE2b(key, data), key at most kBlockLen bytes (Noise keys are 64).
void HmacBlake2b(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, kHashLen> out);

// HKDF(chaining_key, ikm, 2 or 3): writes out1, out2 and, if non-empty, out3.
void Hkdf(std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> ikm, std::span<uint8_t, kHashLen> out1,
          std::span<uint8_t, kHashLen> out2, std::span<uint8_t> out3);

}  // namespace caravan::crypto::noise_internal
