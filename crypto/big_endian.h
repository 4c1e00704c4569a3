#pragma once
// Fixed-width big-endian integers in signed encodings (link certificates,
// identity rotation statements): the byte order is part of what is signed,
// so it is written out byte by byte, independent of the host.

#include <cstdint>

namespace caravan::crypto {

inline void PutBigEndian(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

inline uint64_t GetBigEndian(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace caravan::crypto
