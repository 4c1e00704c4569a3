// Fuzz: the control-socket frame decoder fed arbitrary bytes in arbitrary
// chunks, and each complete frame read as a control Request.
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <span>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  FrameDecoder decoder;
  size_t pos = 0;
  while (pos < size) {
    // The first byte of each step picks the chunk size (1..64).
    const size_t chunk = std::min<size_t>(size - pos, 1 + data[pos] % 64);
    decoder.Append(std::span<const uint8_t>(data + pos, chunk));
    pos += chunk;
    for (;;) {
      auto next = decoder.Next();
      if (!next.ok() || !next->has_value()) break;
      const auto& words = **next;
      try {
        capnp::FlatArrayMessageReader reader(
            kj::arrayPtr(words.data(), words.size()), ControlReaderOptions());
        auto req = reader.getRoot<wire::Request>();
        if (req.which() == wire::Request::SHOW) (void)req.getShow().size();
      } catch (const kj::Exception&) {
        // Malformed messages are reported by the server; not a crash.
      }
    }
  }
  return 0;
}
