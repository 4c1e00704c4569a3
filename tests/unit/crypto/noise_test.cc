// Behaviour of crypto/noise beyond the published vectors: the caravan link
// handshake end to end, failure paths and limits.
#include <gtest/gtest.h>

#include <string_view>

#include "crypto/link_certificate.h"
#include "crypto/noise.h"

namespace caravan::crypto {
namespace {

constexpr std::string_view kXX = "Noise_XX_25519_ChaChaPoly_BLAKE2b";

std::vector<uint8_t> Prologue() { return {'c', 'a', 'r', 'a', 'v', 'a', 'n', '/', '1'}; }

struct Pair {
  std::unique_ptr<LinkKey> is = LinkKey::Generate();
  std::unique_ptr<LinkKey> rs = LinkKey::Generate();
  std::unique_ptr<HandshakeState> init;
  std::unique_ptr<HandshakeState> resp;
  Pair() {
    NoiseConfig ci;
    ci.protocol_name = kXX;
    ci.initiator = true;
    ci.prologue = Prologue();
    ci.local_static = is.get();
    init = HandshakeState::Create(std::move(ci));
    NoiseConfig cr;
    cr.protocol_name = kXX;
    cr.prologue = Prologue();
    cr.local_static = rs.get();
    resp = HandshakeState::Create(std::move(cr));
  }
};

TEST(NoiseTest, CaravanLinkHandshakeEndToEnd) {
  Pair p;
  ASSERT_TRUE(p.init && p.resp);
  auto id_i = IdentityKey::Generate();
  auto id_r = IdentityKey::Generate();

  EXPECT_TRUE(p.init->IsMyTurn());
  EXPECT_FALSE(p.resp->IsMyTurn());
  auto m1 = p.init->WriteMessage({});
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->size(), 32u);  // e, empty payload
  ASSERT_TRUE(p.resp->ReadMessage(*m1));

  auto m2 = p.resp->WriteMessage(BuildHandshakePayload(*id_r, p.rs->public_key()));
  ASSERT_TRUE(m2);
  auto pl2 = p.init->ReadMessage(*m2);
  ASSERT_TRUE(pl2);
  ASSERT_TRUE(p.init->remote_static());
  EXPECT_EQ(*p.init->remote_static(), p.rs->public_key());
  auto who_r = VerifyHandshakePayload(*pl2, *p.init->remote_static());
  ASSERT_TRUE(who_r);
  EXPECT_EQ(*who_r, id_r->public_key());

  auto m3 = p.init->WriteMessage(BuildHandshakePayload(*id_i, p.is->public_key()));
  ASSERT_TRUE(m3);
  auto pl3 = p.resp->ReadMessage(*m3);
  ASSERT_TRUE(pl3);
  auto who_i = VerifyHandshakePayload(*pl3, *p.resp->remote_static());
  ASSERT_TRUE(who_i);
  EXPECT_EQ(*who_i, id_i->public_key());

  ASSERT_TRUE(p.init->IsComplete() && p.resp->IsComplete());
  EXPECT_EQ(p.init->handshake_hash(), p.resp->handshake_hash());
  EXPECT_FALSE(p.init->WriteMessage({}));  // no more handshake messages

  NoiseTransport ti = p.init->SplitTransport();
  NoiseTransport tr = p.resp->SplitTransport();
  std::vector<uint8_t> hello{'h', 'i'};
  auto c = ti.send.Encrypt(hello);
  ASSERT_TRUE(c);
  EXPECT_EQ(tr.receive.Decrypt(*c), hello);
  auto back = tr.send.Encrypt(hello);
  ASSERT_TRUE(back);
  EXPECT_NE(*back, *c);  // different keys per direction
  EXPECT_EQ(ti.receive.Decrypt(*back), hello);
  // Replaying a transport message fails (the nonce moved on).
  EXPECT_FALSE(tr.receive.Decrypt(*c));
}

TEST(NoiseTest, PrologueMismatchFailsTheHandshake) {
  auto is = LinkKey::Generate();
  auto rs = LinkKey::Generate();
  NoiseConfig ci;
  ci.protocol_name = kXX;
  ci.initiator = true;
  ci.prologue = Prologue();
  ci.local_static = is.get();
  auto init = HandshakeState::Create(std::move(ci));
  NoiseConfig cr;
  cr.protocol_name = kXX;
  cr.prologue = {'o', 't', 'h', 'e', 'r'};
  cr.local_static = rs.get();
  auto resp = HandshakeState::Create(std::move(cr));
  auto m1 = init->WriteMessage({});
  ASSERT_TRUE(resp->ReadMessage(*m1));  // message 1 has no tag yet
  auto m2 = resp->WriteMessage({});
  ASSERT_TRUE(m2);
  EXPECT_FALSE(init->ReadMessage(*m2));
  EXPECT_TRUE(init->HasFailed());
}

TEST(NoiseTest, TamperedHandshakeMessagesFailAndStayFailed) {
  for (size_t flip : {0u, 31u, 32u, 40u, 79u, 80u, 95u}) {
    Pair p;
    auto m1 = p.init->WriteMessage({});
    ASSERT_TRUE(p.resp->ReadMessage(*m1));
    auto m2 = p.resp->WriteMessage(std::vector<uint8_t>(96, 7));
    ASSERT_TRUE(m2);
    ASSERT_GT(m2->size(), flip);
    (*m2)[flip] ^= 0x01;
    EXPECT_FALSE(p.init->ReadMessage(*m2)) << flip;
    EXPECT_TRUE(p.init->HasFailed());
    EXPECT_FALSE(p.init->WriteMessage({}));
    EXPECT_FALSE(p.init->IsComplete());
  }
}

TEST(NoiseTest, WrongLengthsAndTurnsAreRejected) {
  Pair p;
  // Responder cannot write first; initiator cannot read first.
  EXPECT_FALSE(p.resp->WriteMessage({}));
  EXPECT_FALSE(p.init->ReadMessage(std::vector<uint8_t>(32)));
  // Too short for "e".
  Pair q;
  EXPECT_FALSE(q.resp->ReadMessage(std::vector<uint8_t>(31)));
  EXPECT_TRUE(q.resp->HasFailed());
  // Truncated message 2 (needs e + encrypted s + tag).
  Pair r;
  auto m1 = r.init->WriteMessage({});
  ASSERT_TRUE(r.resp->ReadMessage(*m1));
  auto m2 = r.resp->WriteMessage({});
  m2->resize(32 + 48 - 1);
  EXPECT_FALSE(r.init->ReadMessage(*m2));
}

TEST(NoiseTest, MaximumMessageSizeIsEnforced) {
  Pair p;
  EXPECT_FALSE(p.init->WriteMessage(std::vector<uint8_t>(kNoiseMaxMessage - 31)));
  Pair q;
  EXPECT_FALSE(q.resp->ReadMessage(std::vector<uint8_t>(kNoiseMaxMessage + 1)));
  Pair r;
  auto big = r.init->WriteMessage(std::vector<uint8_t>(kNoiseMaxMessage - 32));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size(), kNoiseMaxMessage);
  EXPECT_TRUE(r.resp->ReadMessage(*big));

  std::array<uint8_t, 32> key{};
  CipherState c(key);
  EXPECT_TRUE(c.Encrypt(std::vector<uint8_t>(kNoiseMaxPayload)));
  EXPECT_FALSE(c.Encrypt(std::vector<uint8_t>(kNoiseMaxPayload + 1)));
  CipherState d(key);
  EXPECT_FALSE(d.Decrypt(std::vector<uint8_t>(kNoiseMaxMessage + 1)));
  EXPECT_FALSE(d.Decrypt(std::vector<uint8_t>(15)));
}

TEST(NoiseTest, CipherStateNonceRules) {
  std::array<uint8_t, 32> key{};
  key[0] = 1;
  CipherState a(key), b(key);
  std::vector<uint8_t> msg{1, 2, 3};
  auto c0 = a.Encrypt(msg);
  ASSERT_TRUE(c0);
  EXPECT_EQ(a.nonce(), 1u);
  // A failed decryption leaves the nonce alone.
  auto bad = *c0;
  bad[0] ^= 1;
  EXPECT_FALSE(b.Decrypt(bad));
  EXPECT_EQ(b.nonce(), 0u);
  EXPECT_EQ(b.Decrypt(*c0), msg);
  // 2^64-1 is reserved: no encryption or decryption with it.
  a.SetNonce(UINT64_MAX);
  EXPECT_FALSE(a.Encrypt(msg));
  a.SetNonce(UINT64_MAX - 1);
  EXPECT_TRUE(a.Encrypt(msg));
  EXPECT_FALSE(a.Encrypt(msg));
  // Without a key, data passes through (handshake before the first MixKey).
  CipherState empty;
  EXPECT_FALSE(empty.HasKey());
  EXPECT_EQ(empty.Encrypt(msg), msg);
}

TEST(NoiseTest, RekeyChangesKeyInStep) {
  std::array<uint8_t, 32> key{};
  CipherState a(key), b(key);
  std::vector<uint8_t> msg{9, 9};
  a.Rekey();
  auto c = a.Encrypt(msg);
  ASSERT_TRUE(c);
  CipherState stale(key);
  EXPECT_FALSE(stale.Decrypt(*c));
  b.Rekey();
  EXPECT_EQ(b.Decrypt(*c), msg);
}

TEST(NoiseTest, CreateRejectsUnsupportedOrIncompleteConfigs) {
  auto s = LinkKey::Generate();
  auto make = [&](std::string name, bool initiator, const LinkKey* key,
                  std::optional<X25519PublicKey> rs, size_t psks) {
    NoiseConfig c;
    c.protocol_name = std::move(name);
    c.initiator = initiator;
    c.local_static = key;
    c.remote_static = rs;
    for (size_t i = 0; i < psks; ++i) c.psks.emplace_back();
    return HandshakeState::Create(std::move(c)) != nullptr;
  };
  EXPECT_TRUE(make("Noise_XX_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 0));
  EXPECT_TRUE(make("Noise_NN_25519_ChaChaPoly_BLAKE2b", true, nullptr, {}, 0));
  EXPECT_FALSE(make("Noise_XX_25519_ChaChaPoly_BLAKE2b", true, nullptr, {}, 0));
  EXPECT_FALSE(make("Noise_XX_25519_AESGCM_SHA256", true, s.get(), {}, 0));
  EXPECT_FALSE(make("Noise_XX_448_ChaChaPoly_BLAKE2b", true, s.get(), {}, 0));
  EXPECT_FALSE(make("Noise_ZZ_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 0));
  EXPECT_FALSE(make("Noise__25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 0));
  EXPECT_FALSE(make("XX", true, s.get(), {}, 0));
  // IK initiator needs the responder's key in advance.
  EXPECT_FALSE(make("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 0));
  EXPECT_TRUE(make("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, s.get(), X25519PublicKey{}, 0));
  // PSK count must match the modifiers; modifiers must be in range.
  EXPECT_FALSE(make("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 0));
  EXPECT_TRUE(make("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 1));
  EXPECT_FALSE(make("Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 1));
  EXPECT_FALSE(make("Noise_XXpsk_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 1));
  EXPECT_FALSE(make("Noise_XXpsk2+psk1_25519_ChaChaPoly_BLAKE2b", true, s.get(), {}, 2));
}

TEST(NoiseTest, LowOrderEphemeralIsRejected) {
  Pair p;
  // An all-zero "e" is a low-order point: the "ee" DH yields zero.
  std::vector<uint8_t> m1(32, 0);
  ASSERT_TRUE(p.resp->ReadMessage(m1));
  EXPECT_FALSE(p.resp->WriteMessage({}));
  EXPECT_TRUE(p.resp->HasFailed());
}

TEST(NoiseDeathTest, SplitBeforeCompletionAborts) {
  Pair p;
  EXPECT_DEATH((void)p.init->Split(), "before the handshake completed");
}

}  // namespace
}  // namespace caravan::crypto
