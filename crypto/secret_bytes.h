#pragma once
// SecretBytes<N>: a fixed-size buffer for secret key material.
//
// The bytes live in sodium_malloc'd memory (guard pages, mlock'd where the
// OS allows, zeroed by sodium_free), so a secret never sits in ordinary heap
// memory that might be swapped out or read past by a buffer overrun. The type
// is a resource, not a value: it cannot be copied (copies of secrets are how
// they leak), only moved. A moved-from SecretBytes holds no memory; calling
// data() on it is a bug and aborts. Contents start zeroed. There is
// deliberately no way to print one.
//
// Thread-safety: like any object, concurrent const access is safe; mutation
// needs external synchronisation.

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <utility>

#include "crypto/sodium_init.h"

namespace caravan::crypto {

template <size_t N>
class SecretBytes {
 public:
  static_assert(N > 0, "SecretBytes needs at least one byte");

  // Allocates N zeroed secure bytes. Aborts if the allocation fails: running
  // out of locked memory is an operational failure we cannot work around.
  SecretBytes() {
    EnsureSodium();
    data_ = static_cast<uint8_t*>(sodium_malloc(N));
    if (data_ == nullptr) {
      std::fputs("caravan: sodium_malloc failed for secret memory\n", stderr);
      std::abort();
    }
    sodium_memzero(data_, N);
  }

  // Copies `bytes` into fresh secure memory. The caller remains responsible
  // for wiping its own copy.
  explicit SecretBytes(std::span<const uint8_t, N> bytes) : SecretBytes() {
    for (size_t i = 0; i < N; ++i) data_[i] = bytes[i];
  }

  ~SecretBytes() {
    if (data_ != nullptr) sodium_free(data_);
  }

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes(SecretBytes&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)) {}
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) sodium_free(data_);
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }

  // Returns the buffer; aborts on a moved-from object (a bug).
  uint8_t* data() { return Checked(); }
  const uint8_t* data() const { return Checked(); }
  static constexpr size_t size() { return N; }

  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(Checked(), N); }
  std::span<const uint8_t, N> span() const {
    return std::span<const uint8_t, N>(Checked(), N);
  }

  // True if this object still owns memory (false once moved from).
  bool valid() const { return data_ != nullptr; }

  // Constant-time comparison.
  bool Equals(const SecretBytes& other) const {
    return sodium_memcmp(Checked(), other.Checked(), N) == 0;
  }

 private:
  uint8_t* Checked() const {
    if (data_ == nullptr) {
      std::fputs("caravan: use of moved-from SecretBytes\n", stderr);
      std::abort();
    }
    return data_;
  }

  uint8_t* data_ = nullptr;
};

}  // namespace caravan::crypto
