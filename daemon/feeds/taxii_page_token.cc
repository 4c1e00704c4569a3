#include "daemon/feeds/taxii_page_token.h"

#include <nlohmann/json.hpp>

namespace caravan::feeds {
namespace {

using nlohmann::json;

constexpr size_t kMacBytes = 32;  // crypto_verify_32
// Keeps these MACs apart from any other use of the same key material.
constexpr std::string_view kDomain = "caravan taxii next token v1";

std::array<uint8_t, kMacBytes> Mac(
    const std::array<uint8_t, crypto_generichash_KEYBYTES>& key,
    std::string_view account, std::string_view payload) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), kMacBytes);
  // Length-prefixed parts: no two (account, payload) pairs share an input.
  auto absorb = [&st](std::string_view part) {
    const uint64_t n = part.size();
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    crypto_generichash_update(&st, len, sizeof len);
    crypto_generichash_update(
        &st, reinterpret_cast<const uint8_t*>(part.data()), part.size());
  };
  absorb(kDomain);
  absorb(account);
  absorb(payload);
  std::array<uint8_t, kMacBytes> mac{};
  crypto_generichash_final(&st, mac.data(), mac.size());
  return mac;
}

}  // namespace

PageTokenSealer::PageTokenSealer() {
  crypto_generichash_keygen(key_.data());
}

PageTokenSealer::PageTokenSealer(const std::array<uint8_t, 32>& key) {
  static_assert(crypto_generichash_KEYBYTES == 32);
  key_ = key;
}

PageTokenSealer::~PageTokenSealer() { sodium_memzero(key_.data(), key_.size()); }

std::string PageTokenSealer::Seal(const PageSpec& spec,
                                  std::string_view account) const {
  const std::string payload = json{{"c", spec.collection},
                                   {"s", spec.after_seq},
                                   {"t", spec.types},
                                   {"i", spec.ids},
                                   {"v", spec.version},
                                   {"l", spec.limit}}
                                  .dump(-1, ' ', false,
                                        json::error_handler_t::replace);
  const auto mac = Mac(key_, account, payload);
  std::string raw(mac.begin(), mac.end());
  raw += payload;
  std::string out(sodium_base64_encoded_len(
                      raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

Result<PageSpec> PageTokenSealer::Open(std::string_view token,
                                       std::string_view account) const {
  if (token.size() > kMaxPageTokenBytes) {
    return InvalidInput("next token longer than " +
                        std::to_string(kMaxPageTokenBytes) + " bytes");
  }
  std::string raw(token.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(raw.data()), raw.size(),
                        token.data(), token.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != token.data() + token.size()) {
    return InvalidInput("next token is not base64url");
  }
  raw.resize(len);
  if (raw.size() <= kMacBytes) return InvalidInput("next token too short");
  const std::string_view payload = std::string_view(raw).substr(kMacBytes);
  const auto want = Mac(key_, account, payload);
  if (crypto_verify_32(reinterpret_cast<const uint8_t*>(raw.data()),
                       want.data()) != 0) {
    return InvalidInput(
        "next token was not issued to this account by this server (altered, "
        "forged, or from before a restart: resume with added_after)");
  }
  // Authentic: it is our own JSON, but parse defensively all the same.
  try {
    const json j = json::parse(payload);
    PageSpec s;
    s.collection = j.at("c").get<std::string>();
    s.after_seq = j.at("s").get<uint64_t>();
    s.types = j.at("t").get<std::vector<std::string>>();
    s.ids = j.at("i").get<std::vector<std::string>>();
    s.version = j.at("v").get<std::string>();
    s.limit = j.at("l").get<size_t>();
    return s;
  } catch (const json::exception& e) {
    return InvalidInput(std::string("next token payload: ") + e.what());
  }
}

}  // namespace caravan::feeds
