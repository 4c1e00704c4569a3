#include "crypto/key_text.h"

#include <sodium.h>

namespace caravan::crypto {
namespace {

constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr size_t kKeyChars = 43;  // ceil(32 * 8 / 6)

}  // namespace

std::string KeyText(const Ed25519PublicKey& key) {
  EnsureSodium();
  char b64[sodium_base64_ENCODED_LEN(32, kVariant)];
  sodium_bin2base64(b64, sizeof b64, key.data(), key.size(), kVariant);
  return std::string(kKeyTextPrefix) + b64;
}

std::optional<Ed25519PublicKey> ParseKeyText(std::string_view text) {
  EnsureSodium();
  if (!text.starts_with(kKeyTextPrefix)) return std::nullopt;
  std::string_view body = text.substr(kKeyTextPrefix.size());
  if (body.size() != kKeyChars) return std::nullopt;
  Ed25519PublicKey key{};
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(key.data(), key.size(), body.data(), body.size(),
                        /*ignore=*/nullptr, &bin_len, &end, kVariant) != 0 ||
      bin_len != key.size() || end != body.data() + body.size()) {
    return std::nullopt;
  }
  // Belt and braces for canonical form: only one text per key.
  if (KeyText(key) != text) return std::nullopt;
  return key;
}

std::string Fingerprint(const Ed25519PublicKey& key) {
  EnsureSodium();
  uint8_t digest[32];
  crypto_generichash(digest, sizeof digest, key.data(), key.size(), nullptr, 0);
  std::string hex = ToHex(std::span<const uint8_t>(digest, 10));
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 4) {
    if (i != 0) out += ':';
    out += hex.substr(i, 4);
  }
  return out;
}

std::string ToHex(std::span<const uint8_t> bytes) {
  EnsureSodium();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::optional<std::vector<uint8_t>> FromHex(std::string_view hex) {
  EnsureSodium();
  if (hex.size() % 2 != 0) return std::nullopt;
  if (hex.empty()) return std::vector<uint8_t>{};  // libsodium wants non-null buffers
  std::vector<uint8_t> out(hex.size() / 2);
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(),
                     /*ignore=*/nullptr, &bin_len, &end) != 0 ||
      bin_len != out.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace caravan::crypto
