// PageTokenSealer (daemon/feeds/taxii_page_token.h): `next` tokens open
// only unaltered, for the account they were issued to, by the key that
// sealed them (issue 19, finding 3: the token was unsigned JSON).
#include "daemon/feeds/taxii_page_token.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

namespace caravan::feeds {
namespace {

std::array<uint8_t, 32> Key(uint8_t fill) {
  std::array<uint8_t, 32> k{};
  k.fill(fill);
  return k;
}

PageSpec Sample() {
  PageSpec s;
  s.collection = "own";
  s.after_seq = 4242;
  s.types = {"indicator"};
  s.ids = {"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};
  s.version = "all";
  s.limit = 1000;
  return s;
}

std::string B64(const std::string& raw) {
  std::string out(sodium_base64_encoded_len(
                      raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);
  return out;
}

std::string Unb64(const std::string& text) {
  std::string raw(text.size(), '\0');
  size_t len = 0;
  EXPECT_EQ(sodium_base642bin(reinterpret_cast<uint8_t*>(raw.data()),
                              raw.size(), text.data(), text.size(), nullptr,
                              &len, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  raw.resize(len);
  return raw;
}

TEST(TaxiiPageTokenTest, RoundTripsForTheSameAccount) {
  PageTokenSealer sealer(Key(1));
  const std::string token = sealer.Seal(Sample(), "siem");
  auto opened = sealer.Open(token, "siem");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, Sample());
}

TEST(TaxiiPageTokenTest, AnotherAccountOrKeyCannotOpenIt) {
  PageTokenSealer sealer(Key(1));
  const std::string token = sealer.Seal(Sample(), "siem");
  auto other_account = sealer.Open(token, "siem2");
  ASSERT_FALSE(other_account.ok());
  EXPECT_NE(other_account.status().message().find("not issued"),
            std::string::npos)
      << other_account.status().message();
  // A restarted server has a new key: the old token is refused, not
  // misread.
  PageTokenSealer restarted(Key(2));
  EXPECT_FALSE(restarted.Open(token, "siem").ok());
  // Two default sealers draw different random keys.
  PageTokenSealer a, b;
  EXPECT_FALSE(b.Open(a.Seal(Sample(), "siem"), "siem").ok());
}

// The attack of the issue: take an issued token, raise its limit to
// 100000 and re-encode. The MAC no longer matches.
TEST(TaxiiPageTokenTest, AnAlteredPayloadIsRefused) {
  PageTokenSealer sealer(Key(1));
  std::string raw = Unb64(sealer.Seal(Sample(), "siem"));
  ASSERT_GT(raw.size(), 32u);
  auto payload = nlohmann::json::parse(raw.substr(32));
  payload["l"] = 100000;
  const std::string forged = B64(raw.substr(0, 32) + payload.dump());
  auto opened = sealer.Open(forged, "siem");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidInput);

  // One flipped bit anywhere (MAC or payload) is refused too.
  for (size_t i = 0; i < raw.size(); i += 7) {
    std::string flipped = raw;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    EXPECT_FALSE(sealer.Open(B64(flipped), "siem").ok()) << "byte " << i;
  }
}

TEST(TaxiiPageTokenTest, TheOldUnsignedFormatAndGarbageAreRefused) {
  PageTokenSealer sealer(Key(1));
  // The pre-MAC token: base64url of the bare JSON.
  const std::string old = B64(
      R"({"c":"all","s":0,"t":[],"i":[],"v":"last","l":100000})");
  EXPECT_FALSE(sealer.Open(old, "siem").ok());
  EXPECT_FALSE(sealer.Open("", "siem").ok());
  EXPECT_FALSE(sealer.Open("not base64 !", "siem").ok());
  EXPECT_FALSE(sealer.Open(B64("short"), "siem").ok());
  EXPECT_FALSE(
      sealer.Open(std::string(kMaxPageTokenBytes + 1, 'A'), "siem").ok());
}

}  // namespace
}  // namespace caravan::feeds
