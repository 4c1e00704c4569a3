#include "crypto/seal.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::crypto {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

struct Fixture {
  std::vector<std::unique_ptr<LinkKey>> keys;
  std::vector<X25519PublicKey> pks;
  explicit Fixture(int n) {
    for (int i = 0; i < n; ++i) {
      keys.push_back(LinkKey::Generate());
      pks.push_back(keys.back()->public_key());
    }
  }
};

TEST(SealTest, EveryRecipientOpensANonRecipientCannot) {
  Fixture f(3);
  auto header = Bytes("route: KZ,UZ");
  auto plaintext = Bytes("signed record bytes");
  auto env = Seal(header, plaintext, f.pks);
  ASSERT_TRUE(env);
  for (const auto& k : f.keys) {
    auto opened = Open(*env, *k);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->header, header);
    EXPECT_EQ(opened->plaintext, plaintext);
  }
  auto outsider = LinkKey::Generate();
  EXPECT_FALSE(Open(*env, *outsider));
}

TEST(SealTest, HubCanInspectButNotRead) {
  Fixture f(2);
  auto env = Seal(Bytes("hdr"), Bytes("secret indicator"), f.pks);
  ASSERT_TRUE(env);
  auto info = InspectEnvelope(*env);
  ASSERT_TRUE(info);
  EXPECT_EQ(std::string(info->header.begin(), info->header.end()), "hdr");
  ASSERT_EQ(info->recipients.size(), 2u);
  std::vector<SealKeyId> want{SealRecipientKeyId(f.pks[0]), SealRecipientKeyId(f.pks[1])};
  std::sort(want.begin(), want.end());
  auto got = info->recipients;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  std::string all(env->begin(), env->end());
  EXPECT_EQ(all.find("secret indicator"), std::string::npos);
}

TEST(SealTest, LayoutMatchesDocumentedFormat) {
  Fixture f(2);
  auto env = Seal(Bytes("abc"), Bytes("xy"), f.pks);
  ASSERT_TRUE(env);
  ASSERT_EQ(env->size(), 1u + 4 + 3 + 2 + 2 * (8 + 80) + 24 + 2 + 16);
  EXPECT_EQ((*env)[0], kSealVersion);
  EXPECT_EQ((*env)[4], 3);
  EXPECT_EQ((*env)[9], 2);
}

TEST(SealTest, AnyTamperingFails) {
  Fixture f(2);
  auto env = Seal(Bytes("header"), Bytes("plaintext"), f.pks);
  ASSERT_TRUE(env);
  const size_t header_at = 5;
  const size_t entries_at = header_at + 6 + 2;
  const size_t nonce_at = entries_at + 2 * 88;
  struct Where {
    const char* what;
    size_t at;
  } places[] = {
      {"header", header_at + 1},
      {"key id of entry 0", entries_at + 1},
      {"wrapped key of entry 0", entries_at + 8 + 5},
      {"wrapped key of entry 1", entries_at + 88 + 8 + 5},
      {"nonce", nonce_at + 3},
      {"ciphertext", nonce_at + 24 + 1},
      {"tag", env->size() - 1},
  };
  for (const Where& w : places) {
    auto bad = *env;
    bad[w.at] ^= 0x01;
    for (const auto& k : f.keys) {
      EXPECT_FALSE(Open(bad, *k)) << w.what;
    }
  }
  // Untouched still opens.
  EXPECT_TRUE(Open(*env, *f.keys[0]));
}

TEST(SealTest, MalformedEnvelopesAreRejectedWithoutCrashing) {
  Fixture f(1);
  auto env = Seal(Bytes("h"), Bytes("p"), f.pks);
  ASSERT_TRUE(env);
  for (size_t len = 0; len < env->size(); ++len) {
    std::span<const uint8_t> cut(env->data(), len);
    EXPECT_FALSE(Open(cut, *f.keys[0])) << len;
    // Cutting only plaintext bytes leaves a structurally valid envelope
    // (ciphertext still >= one tag) that fails to open, checked above.
    if (len + 1 < env->size()) {
      EXPECT_FALSE(InspectEnvelope(cut)) << len;
    }
  }
  auto bad = *env;
  bad[0] = 2;  // unknown version
  EXPECT_FALSE(InspectEnvelope(bad));
  bad = *env;
  bad[1] = 0xff;  // header length far past the end
  EXPECT_FALSE(InspectEnvelope(bad));
  bad = *env;
  bad[6] = 0;  // recipient count 0
  bad[7] = 0;
  EXPECT_FALSE(InspectEnvelope(bad));
}

TEST(SealTest, SealRefusesBadArguments) {
  Fixture f(1);
  EXPECT_FALSE(Seal({}, Bytes("p"), {}));
  std::vector<uint8_t> big_header(kMaxSealHeader + 1);
  EXPECT_FALSE(Seal(big_header, Bytes("p"), f.pks));
  std::vector<X25519PublicKey> many;
  for (size_t i = 0; i <= kMaxSealRecipients; ++i) {
    X25519PublicKey k{};
    k[0] = static_cast<uint8_t>(i);
    k[1] = static_cast<uint8_t>(i >> 8);
    k[2] = 9;
    many.push_back(k);
  }
  EXPECT_FALSE(Seal({}, Bytes("p"), many));
  // Duplicates are wrapped once.
  auto env = Seal({}, Bytes("p"), {f.pks[0], f.pks[0]});
  ASSERT_TRUE(env);
  EXPECT_EQ(InspectEnvelope(*env)->recipients.size(), 1u);
  EXPECT_TRUE(Open(*env, *f.keys[0]));
}

TEST(SealTest, EmptyHeaderAndPlaintext) {
  Fixture f(1);
  auto env = Seal({}, {}, f.pks);
  ASSERT_TRUE(env);
  auto opened = Open(*env, *f.keys[0]);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->header.empty());
  EXPECT_TRUE(opened->plaintext.empty());
}

}  // namespace
}  // namespace caravan::crypto
