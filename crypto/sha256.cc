#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace caravan::crypto {
namespace {

// A digest that cannot run (OpenSSL out of memory, or no SHA-256 in its
// default provider) leaves nothing sensible to return: stop, as the other
// primitives here do.
[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "caravan: SHA-256 failed: %s\n", what);
  std::abort();
}

const EVP_MD* Sha256Md() {
  // Fetched once: an implicit fetch on every digest costs more than the
  // digest of a tree node.
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) Fail("no SHA256 in OpenSSL's default provider");
    return fetched;
  }();
  return md;
}

struct ContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::array<uint8_t, 32> Sha256Of(
    std::initializer_list<std::span<const uint8_t>> parts) {
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> ctx(
      EVP_MD_CTX_new());
  if (!ctx) Fail("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) != 1) {
    Fail("EVP_DigestInit_ex2");
  }
  for (std::span<const uint8_t> part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      Fail("EVP_DigestUpdate");
    }
  }
  std::array<uint8_t, 32> out{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1 ||
      length != out.size()) {
    Fail("EVP_DigestFinal_ex");
  }
  return out;
}

}  // namespace caravan::crypto
