#include "crypto/noise_hkdf.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

namespace caravan::crypto::noise_internal {

void Hash2(std::span<const uint8_t> a, std::span<const uint8_t> b,
           std::span<uint8_t, kHashLen> out) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kHashLen);
  crypto_generichash_update(&st, a.data(), a.size());
  crypto_generichash_update(&st, b.data(), b.size());
  crypto_generichash_final(&st, out.data(), kHashLen);
}

void HmacBlake2b(std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t, kHashLen> out) {
  if (key.size() > kBlockLen) std::abort();  // never happens in Noise: a bug
  uint8_t pad[kBlockLen];
  uint8_t inner[kHashLen];
  // inner = H((K ^ ipad) || data)
  std::fill(std::begin(pad), std::end(pad), uint8_t{0x36});
  for (size_t i = 0; i < key.size(); ++i) pad[i] ^= key[i];
  Hash2(pad, data, inner);
  // out = H((K ^ opad) || inner)
  std::fill(std::begin(pad), std::end(pad), uint8_t{0x5c});
  for (size_t i = 0; i < key.size(); ++i) pad[i] ^= key[i];
  Hash2(pad, inner, out);
  sodium_memzero(pad, sizeof pad);
  sodium_memzero(inner, sizeof inner);
}

void Hkdf(std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> ikm, std::span<uint8_t, kHashLen> out1,
          std::span<uint8_t, kHashLen> out2, std::span<uint8_t> out3) {
  uint8_t temp_key[kHashLen];
  uint8_t buf[kHashLen + 1];
  HmacBlake2b(chaining_key, ikm, temp_key);
  const uint8_t one = 0x01;
  HmacBlake2b(temp_key, std::span<const uint8_t>(&one, 1), out1);
  std::copy(out1.begin(), out1.end(), buf);
  buf[kHashLen] = 0x02;
  HmacBlake2b(temp_key, buf, out2);
  if (!out3.empty()) {
    if (out3.size() != kHashLen) std::abort();
    std::copy(out2.begin(), out2.end(), buf);
    buf[kHashLen] = 0x03;
    HmacBlake2b(temp_key, buf, std::span<uint8_t, kHashLen>(out3.data(), kHashLen));
  }
  sodium_memzero(temp_key, sizeof temp_key);
  sodium_memzero(buf, sizeof buf);
}

}  // namespace caravan::crypto::noise_internal
