// The link's post-handshake receive path without a socket: input bytes are
// the decrypted transport plaintexts (cut at boundaries the input chooses),
// fed to AppMessageAssembler with a 64 KiB limit; every completed message
// goes through InspectPeerMessage. Must never crash or read out of bounds,
// whatever the bytes.
//
// Input: repeated [1-byte chunk length L][L bytes of plaintext].
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "daemon/link/frame_codec.h"

using namespace caravan::daemon::link;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kLimit = 64 * 1024;
  AppMessageAssembler assembler(kLimit);
  std::vector<std::vector<capnp::word>> out;
  std::span<const uint8_t> rest(data, size);
  while (!rest.empty()) {
    size_t n = rest[0];
    rest = rest.subspan(1);
    if (n > rest.size()) n = rest.size();
    out.clear();
    if (!assembler.Append(rest.first(n), &out).ok()) return 0;
    for (const auto& message : out) (void)InspectPeerMessage(message, kLimit);
    rest = rest.subspan(n);
  }
  return 0;
}
