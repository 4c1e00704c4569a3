// Hub envelopes from a peer: the hub's header inspection and the
// recipient's opening path (daemon/sync/hub_envelope.h). Input byte 0
// selects the target; the rest is the untrusted bytes:
//   0: DecodeSealedHeader, 1: InspectSealed, 2: OpenSealed with a fixed
//   recipient key (the sealed layer rejects almost everything; the
//   decoders after it are reached through the seed built below).
// Must never crash or read out of bounds, whatever the bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/identity_x25519.h"
#include "daemon/sync/hub_envelope.h"

using namespace caravan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kLimit = 1 << 20;
  static const auto identity = [] {
    std::array<uint8_t, 32> seed{};
    seed[0] = 42;
    return crypto::IdentityKey::FromSeed(seed);
  }();
  static const auto x25519 = crypto::IdentityToX25519Key(*identity);
  std::span<const uint8_t> in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)daemon::sync::DecodeSealedHeader(in);
      break;
    case 1:
      (void)daemon::sync::InspectSealed(in, kLimit);
      break;
    default:
      (void)daemon::sync::OpenSealed(in, *x25519, identity->public_key(),
                                     kLimit);
      break;
  }
  return 0;
}
