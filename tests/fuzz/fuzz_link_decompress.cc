// The link's decompression of a compressed application message
// (docs/wire.md 4.3), fed from a peer: input bytes are the zstd frame as
// carried, decompressed with a 64 KiB limit both directly and through
// AppMessageAssembler behind a compressed length prefix; a message that
// decompresses goes through InspectPeerMessage. Must never crash, read out
// of bounds or allocate beyond the limit (ASan's allocator would say), for
// any bytes: corrupt frames, bombs, frames without a declared size.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "daemon/link/frame_codec.h"
#include "daemon/link/link_compression.h"

using namespace caravan::daemon::link;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kLimit = 64 * 1024;
  std::span<const uint8_t> frame(data, size);
  MessageDecompressor decompressor;
  auto words = decompressor.Decompress(frame, kLimit);
  if (words.ok()) {
    if (words->size() * sizeof(capnp::word) > kLimit) __builtin_trap();
    (void)InspectPeerMessage(*words, kLimit);
  }

  // The same bytes as a compressed message on the stream.
  AppMessageAssembler assembler(kLimit, true);
  std::vector<std::vector<capnp::word>> out;
  const uint32_t n = static_cast<uint32_t>(size) | kCompressedFlag;
  const uint8_t header[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                             static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  if (!assembler.Append(header, &out).ok()) return 0;
  if (!assembler.Append(frame, &out).ok()) return 0;
  for (const auto& message : out) {
    if (message.size() * sizeof(capnp::word) > kLimit) __builtin_trap();
    (void)InspectPeerMessage(message, kLimit);
  }
  return 0;
}
