// `caravan key compromised --key K` (daemon/node/retired_key_choice.h):
// which of our retired keys K names, and every refusal, each naming what
// was wrong: no rotation yet, text of neither form, our current key,
// another member's key (current or retired), a key nobody here has.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/identity_rotation.h"
#include "crypto/key_text.h"
#include "daemon/node/retired_key_choice.h"

namespace caravan::daemon {
namespace {

constexpr int64_t kT = 1'800'000'000;

struct Keys {
  // Ours: K0 -> K1 -> K2 (current). CERT-KZ: M0 -> M1 (current).
  std::unique_ptr<crypto::IdentityKey> k0 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> k1 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> k2 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> m0 = crypto::IdentityKey::Generate();
  std::unique_ptr<crypto::IdentityKey> m1 = crypto::IdentityKey::Generate();
  std::vector<protocol::PublicKey> own{k2->public_key(), k1->public_key(),
                                       k0->public_key()};
  sync::RosterIndex roster{
      {protocol::RosterMember{"CERT-KZ", "KZ", m0->public_key(), std::nullopt, ""}},
      sync::KeyChains({crypto::SignRotation(*k0, *k1, kT, kT),
                       crypto::SignRotation(*k1, *k2, kT + 60, kT + 60),
                       crypto::SignRotation(*m0, *m1, kT + 30, kT + 30)})};
};

std::string Refusal(const Result<protocol::PublicKey>& r) {
  return r.ok() ? "chosen" : r.status().message();
}

TEST(RetiredKeyChoice, NoKeyNamesTheKeyRetiredLast) {
  Keys k;
  auto chosen = ChooseRetiredKey(k.own, "", k.roster);
  ASSERT_TRUE(chosen.ok()) << chosen.status().message();
  EXPECT_EQ(*chosen, k.k1->public_key());
}

TEST(RetiredKeyChoice, AnOlderRetiredKeyByFingerprintAnyCaseOrKeyText) {
  Keys k;
  std::string upper = crypto::Fingerprint(k.k0->public_key());
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& text : {crypto::Fingerprint(k.k0->public_key()), upper,
                                  crypto::KeyText(k.k0->public_key())}) {
    auto chosen = ChooseRetiredKey(k.own, text, k.roster);
    ASSERT_TRUE(chosen.ok()) << text << ": " << chosen.status().message();
    EXPECT_EQ(*chosen, k.k0->public_key()) << text;
  }
  auto last = ChooseRetiredKey(k.own, crypto::Fingerprint(k.k1->public_key()), k.roster);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, k.k1->public_key());
}

TEST(RetiredKeyChoice, ANodeThatNeverRotatedIsToldToRotateFirst) {
  Keys k;
  const std::vector<protocol::PublicKey> once{k.k0->public_key()};
  auto r = ChooseRetiredKey(once, "", k.roster);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(Refusal(r).find("never rotated"), std::string::npos) << Refusal(r);
}

TEST(RetiredKeyChoice, TheCurrentKeyIsRefused) {
  Keys k;
  for (const std::string& text : {crypto::Fingerprint(k.k2->public_key()),
                                  crypto::KeyText(k.k2->public_key())}) {
    auto r = ChooseRetiredKey(k.own, text, k.roster);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(Refusal(r).find("current identity key"), std::string::npos) << Refusal(r);
  }
}

TEST(RetiredKeyChoice, AnotherMembersKeyCurrentOrRetiredIsNotOurs) {
  Keys k;
  for (const auto* other : {k.m0.get(), k.m1.get()}) {
    auto r = ChooseRetiredKey(k.own, crypto::Fingerprint(other->public_key()), k.roster);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(Refusal(r).find("CERT-KZ's key, not this node's"), std::string::npos)
        << Refusal(r);
    EXPECT_NE(Refusal(r).find("peers compromised CERT-KZ"), std::string::npos) << Refusal(r);
  }
}

TEST(RetiredKeyChoice, AKeyNobodyHereHasIsNotFound) {
  Keys k;
  auto stranger = crypto::IdentityKey::Generate();
  auto by_print = ChooseRetiredKey(k.own, crypto::Fingerprint(stranger->public_key()), k.roster);
  ASSERT_FALSE(by_print.ok());
  EXPECT_EQ(by_print.status().code(), StatusCode::kNotFound);
  EXPECT_NE(Refusal(by_print).find("no key known here"), std::string::npos);
  auto by_text = ChooseRetiredKey(k.own, crypto::KeyText(stranger->public_key()), k.roster);
  ASSERT_FALSE(by_text.ok());
  EXPECT_EQ(by_text.status().code(), StatusCode::kNotFound);
  EXPECT_NE(Refusal(by_text).find("not one of this node's retired"), std::string::npos);
}

TEST(RetiredKeyChoice, TextOfNeitherFormIsRefusedNamingIt) {
  Keys k;
  const std::string too_long(kMaxKeyChoiceBytes + 1, 'a');
  for (const std::string& text :
       {std::string("1a2b:3c4d"), std::string("zzzz:zzzz:zzzz:zzzz:zzzz"),
        std::string("caravan:short"), too_long}) {
    auto r = ChooseRetiredKey(k.own, text, k.roster);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << text;
    EXPECT_NE(Refusal(r).find("--key"), std::string::npos) << Refusal(r);
  }
}

}  // namespace
}  // namespace caravan::daemon
