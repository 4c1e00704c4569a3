// Feeds arbitrary bytes to the caravan Noise XX handshake as message 1, 2 or
// 3 (chosen by the first input byte), with fixed keys, and on success carries
// on: checks the handshake payload certificate, finishes the handshake and
// decrypts the rest of the input as a transport message. Must never crash,
// whatever the bytes.
//
// Input: byte 0 = stage (0: responder reads msg 1; 1: initiator reads
// msg 2; 2: responder reads msg 3), then a 2-byte big-endian length and the
// handshake message, then (optional) a transport message.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "crypto/link_certificate.h"
#include "crypto/noise.h"

using namespace caravan::crypto;

namespace {

std::unique_ptr<LinkKey> Fixed(uint8_t b) {
  std::array<uint8_t, 32> s{};
  s.fill(b);
  return LinkKey::FromSecret(s);
}

std::unique_ptr<HandshakeState> Make(bool initiator, const LinkKey* s, uint8_t e) {
  NoiseConfig c;
  c.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
  c.initiator = initiator;
  c.prologue = {'c', 'a', 'r', 'a', 'v', 'a', 'n', '/', '1'};
  c.local_static = s;
  c.ephemeral_for_testing = Fixed(e);
  return HandshakeState::Create(std::move(c));
}

void AfterPayload(const HandshakeState& hs, const std::vector<uint8_t>& payload) {
  if (hs.remote_static()) (void)VerifyHandshakePayload(payload, *hs.remote_static());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int stage = data[0] % 3;
  size_t len = (size_t{data[1]} << 8) | data[2];
  std::span<const uint8_t> rest(data + 3, size - 3);
  if (len > rest.size()) len = rest.size();
  std::span<const uint8_t> msg = rest.first(len);
  std::span<const uint8_t> transport = rest.subspan(len);

  static const std::unique_ptr<LinkKey> is = Fixed(1);
  static const std::unique_ptr<LinkKey> rs = Fixed(2);
  static const std::unique_ptr<IdentityKey> id = [] {
    std::array<uint8_t, 32> seed{};
    seed.fill(3);
    return IdentityKey::FromSeed(seed);
  }();
  auto init = Make(true, is.get(), 4);
  auto resp = Make(false, rs.get(), 5);
  HandshakeState* target = nullptr;

  if (stage == 0) {
    target = resp.get();
  } else {
    auto m1 = init->WriteMessage({});
    if (!m1 || !resp->ReadMessage(*m1)) __builtin_trap();
    if (stage == 1) {
      target = init.get();
    } else {
      auto m2 = resp->WriteMessage(BuildHandshakePayload(*id, rs->public_key()));
      if (!m2 || !init->ReadMessage(*m2)) __builtin_trap();
      target = resp.get();
    }
  }
  auto payload = target->ReadMessage(msg);
  if (!payload) {
    if (!target->HasFailed() && msg.size() <= kNoiseMaxMessage) __builtin_trap();
    return 0;
  }
  AfterPayload(*target, *payload);
  // Carry the handshake on as far as it goes.
  while (!target->IsComplete() && target->IsMyTurn()) {
    if (!target->WriteMessage(BuildHandshakePayload(*id, rs->public_key()))) break;
  }
  if (target->IsComplete()) {
    NoiseTransport t = target->SplitTransport();
    (void)t.receive.Decrypt(transport);
    (void)t.send.Encrypt(transport.first(std::min(transport.size(), kNoiseMaxPayload)));
  }
  return 0;
}
