// `caravan key compromised --key TEXT` (daemon/node/retired_key_choice.h):
// the operator's text, read by the daemon from the control socket, matched
// against our keys (K0 -> K1 -> K2) and a member's (M0 -> M1). The whole
// input is the text. Must never crash or read out of bounds, and whatever
// it chooses must be one of our retired keys.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "crypto/identity_rotation.h"
#include "daemon/node/retired_key_choice.h"

using namespace caravan;

namespace {

std::unique_ptr<crypto::IdentityKey> Key(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed[0] = seed_byte;
  return crypto::IdentityKey::FromSeed(seed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto k0 = Key(1), k1 = Key(2), k2 = Key(3), m0 = Key(4), m1 = Key(5);
  static const std::vector<protocol::PublicKey> own{k2->public_key(), k1->public_key(),
                                                    k0->public_key()};
  static const daemon::sync::RosterIndex roster(
      {protocol::RosterMember{"CERT-KZ", "KZ", m0->public_key(), std::nullopt, ""}},
      daemon::sync::KeyChains({crypto::SignRotation(*k0, *k1, 1'800'000'000, 1'800'000'000),
                               crypto::SignRotation(*k1, *k2, 1'800'000'060, 1'800'000'060),
                               crypto::SignRotation(*m0, *m1, 1'800'000'030, 1'800'000'030)}));
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto chosen = daemon::ChooseRetiredKey(own, text, roster);
  if (chosen.ok() && *chosen != own[1] && *chosen != own[2]) std::abort();
  return 0;
}
