// Hub accountability's parsers behind the seal (daemon/sync/hub_envelope.h):
// the inner header (chain link, receipt or chain restart, with the sealing
// time of the delay measurement) and the recipient's whole
// opening path after decryption. Input byte 0 selects the target; the
// rest is the untrusted bytes:
//   0: DecodeSealedInner on the bytes as they are;
//   1: the bytes as a sender's signed part (u32be inner length, inner
//      header, batch), signed by a fixed sender, padded and sealed to a
//      fixed recipient, then OpenSealed: reaches the padding, the inner
//      length, the inner, receipt and restart checks and the batch
//      decoder, which
//      a random envelope never does (it does not open).
// Must never crash or read out of bounds, whatever the bytes.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "crypto/identity_x25519.h"
#include "crypto/seal.h"
#include "crypto/sealed_batch_signature.h"
#include "daemon/sync/hub_envelope.h"

using namespace caravan;

namespace {

std::unique_ptr<crypto::IdentityKey> Key(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed[0] = seed_byte;
  return crypto::IdentityKey::FromSeed(seed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kLimit = 1 << 20;
  static const auto sender = Key(7);
  static const auto recipient = Key(42);
  static const auto recipient_x = crypto::IdentityToX25519Key(*recipient);
  std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    (void)daemon::sync::DecodeSealedInner(in);
    return 0;
  }
  if (in.size() > kLimit / 2) return 0;
  daemon::sync::SealedHeaderInfo header;
  header.sender_name = "FUZZ-SENDER";
  header.sender_key = sender->public_key();
  header.recipient_key = recipient->public_key();
  const auto header_bytes = daemon::sync::EncodeSealedHeader(header);
  const auto sig = crypto::SignSealedBatch(*sender, header_bytes, in);
  std::vector<uint8_t> plain(sig.begin(), sig.end());
  plain.insert(plain.end(), in.begin(), in.end());
  const size_t padded =
      daemon::sync::PaddedPlaintextSize(plain.size(), kLimit);
  if (padded == 0) return 0;
  const size_t unpadded = plain.size();
  plain.resize(padded, 0);
  size_t out_len = 0;
  if (sodium_pad(&out_len, plain.data(), unpadded, padded, padded) != 0) {
    return 0;
  }
  auto x = crypto::IdentityToX25519Public(recipient->public_key());
  auto envelope = crypto::Seal(header_bytes, plain, {*x});
  if (!envelope) return 0;
  (void)daemon::sync::OpenSealed(*envelope, *recipient_x,
                                 recipient->public_key(), kLimit);
  return 0;
}
