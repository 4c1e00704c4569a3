// Feeds arbitrary bytes to the link certificate parser and verifier
// (crypto/link_certificate.h), as a handshake payload would arrive in Noise
// messages 2 and 3: ParseLinkPayload must accept exactly the 96-byte form
// and the 112-byte form with a serial >= 1, VerifyLinkPayload must agree
// with it on the fields, and neither may crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "crypto/link_certificate.h"

using namespace caravan::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> payload(data, size);
  std::string error;
  auto parsed = ParseLinkPayload(payload, &error);
  const bool shape_ok = size == kHandshakePayloadSize || size == kHandshakePayloadV2Size;
  if (!shape_ok && parsed) std::abort();
  if (!parsed && error.empty()) std::abort();  // every refusal says why
  if (parsed && size == kHandshakePayloadV2Size && parsed->serial == 0) std::abort();

  X25519PublicKey remote{};
  remote.fill(0x42);
  auto verified = VerifyLinkPayload(payload, remote, &error);
  if (verified) {
    if (!parsed || verified->serial != parsed->serial ||
        verified->identity != parsed->identity) {
      std::abort();
    }
  }
  return 0;
}
