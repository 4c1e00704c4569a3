// Feeds arbitrary bytes to the handshake payload splitter
// (crypto/handshake_chain.h), as a peer's identity payload arrives in
// handshake message 2 or 3: only a 96- or 112-byte certificate followed by
// at most kMaxHandshakeChain whole statements splits, every refusal says
// why, a split chain is contiguous and re-encodes to the bytes it came
// from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "crypto/handshake_chain.h"
#include "crypto/link_certificate.h"

using namespace caravan::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Noise caps a handshake message at 65535 bytes; the reader refuses
  // every length IsHandshakePayloadSize refuses before decrypting.
  if (size > 4096) return 0;
  const std::span<const uint8_t> bytes(data, size);
  std::string error;
  auto split = SplitHandshakePayload(bytes, &error);
  if (!split && error.empty()) std::abort();  // every refusal says why
  if (split) {
    if (!IsHandshakePayloadSize(size)) std::abort();
    if (split->certificate.size() != kHandshakePayloadSize &&
        split->certificate.size() != kHandshakePayloadV2Size) {
      std::abort();
    }
    if (split->chain.size() > kMaxHandshakeChain) std::abort();
    for (size_t i = 1; i < split->chain.size(); ++i) {
      if (split->chain[i - 1].new_key != split->chain[i].old_key) std::abort();
    }
    const auto again = EncodeHandshakeChain(split->chain);
    if (!std::equal(again.begin(), again.end(), bytes.begin() + split->certificate.size(),
                    bytes.end())) {
      std::abort();
    }
    if (!split->chain.empty() && !ChainEndsAt(split->chain, split->chain.back().new_key)) {
      std::abort();
    }
  }
  return 0;
}
