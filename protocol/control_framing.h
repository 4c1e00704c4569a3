#pragma once
// Framing of the control socket (CLI <-> caravand): each frame is a 4-byte
// little-endian length in bytes, then one Cap'n Proto message in flat-array
// form (segment table included) of exactly that length. The length is a
// positive multiple of 8 and at most kMaxControlFrameBytes.
//
// No sockets here: the connection code reads bytes and feeds a
// FrameDecoder, and writes what FrameMessage returns.
//
// FrameDecoder is a value owned by one connection; not thread-safe.

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/status.h"

namespace caravan::protocol {

inline constexpr size_t kMaxControlFrameBytes = 16 << 20;
inline constexpr size_t kControlFrameHeaderBytes = 4;

// Length prefix + flat array of `message`. Aborts (a bug) if the message is
// larger than kMaxControlFrameBytes: callers bound what they build.
std::vector<uint8_t> FrameMessage(capnp::MessageBuilder& message);

// Limits for reading a frame's message: traversal bounded by the frame size
// (kMaxControlFrameBytes / 8 words), nesting 32.
capnp::ReaderOptions ControlReaderOptions();

class FrameDecoder {
 public:
  // Buffers `bytes` (copied). Never fails; errors surface from Next().
  void Append(std::span<const uint8_t> bytes);

  // The next complete frame's message words (ready for
  // capnp::FlatArrayMessageReader with ControlReaderOptions()), nullopt if
  // more bytes are needed, or InvalidInput when the declared length is 0,
  // not a multiple of 8 or above kMaxControlFrameBytes. After an error the
  // stream cannot be resynchronized: every later call returns the same
  // error and the connection should be closed.
  Result<std::optional<std::vector<capnp::word>>> Next();

  // Bytes buffered and not yet returned in a frame.
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;  // consumed prefix of buffer_, dropped lazily
  std::optional<Status> error_;
};

}  // namespace caravan::protocol
