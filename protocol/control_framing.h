#pragma once
// Framing of the control socket (CLI <-> caravand): each frame is a 4-byte
// little-endian length in bytes, then one Cap'n Proto message in flat-array
// form (segment table included) of exactly that length. The length is a
// positive multiple of 8 and at most the receiver's limit (the node's
// `[control] max_frame_bytes`; kMaxControlFrameBytes by default).
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
// The largest limit a FrameDecoder or FrameMessageWithin accepts: the
// largest `[control] max_frame_bytes` (protocol/config/node_config.h) and
// far below what a 32-bit length can say.
inline constexpr size_t kMaxControlFrameLimit = 256u << 20;

// Length prefix + flat array of `message`, or InvalidInput naming both
// sizes when the message is larger than `max_bytes` (bad input made it
// too big: never an abort).
Result<std::vector<uint8_t>> FrameMessageWithin(capnp::MessageBuilder& message,
                                                size_t max_bytes);

// FrameMessageWithin(message, kMaxControlFrameBytes) for messages bounded by
// construction (tests, fixed replies). Aborts (a bug) if the message is
// larger anyway; anything whose size a user controls goes through
// FrameMessageWithin.
std::vector<uint8_t> FrameMessage(capnp::MessageBuilder& message);

// Limits for reading a frame's message: traversal bounded by the frame size
// (max_frame_bytes / 8 words), nesting 32.
capnp::ReaderOptions ControlReaderOptions(
    size_t max_frame_bytes = kMaxControlFrameBytes);

// The declared message length of a frame header, or InvalidInput when it is
// 0, not a multiple of 8 or above `max_bytes`.
Result<uint32_t> ParseFrameHeader(std::span<const uint8_t, 4> header,
                                  size_t max_bytes);

class FrameDecoder {
 public:
  // Frames longer than `max_frame_bytes` are refused (clamped to
  // 8..kMaxControlFrameLimit).
  explicit FrameDecoder(size_t max_frame_bytes = kMaxControlFrameBytes);

  // Buffers `bytes` (copied). Never fails; errors surface from Next(). The
  // buffer grows with the bytes that arrive, never to a length a header
  // only announced.
  void Append(std::span<const uint8_t> bytes);

  // The next complete frame's message words (ready for
  // capnp::FlatArrayMessageReader with ControlReaderOptions()), nullopt if
  // more bytes are needed, or InvalidInput when the declared length is 0,
  // not a multiple of 8 or above the limit. After an error the stream
  // cannot be resynchronized: every later call returns the same error and
  // the connection should be closed.
  Result<std::optional<std::vector<capnp::word>>> Next();

  // Bytes buffered and not yet returned in a frame.
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  size_t max_frame_bytes_;
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;  // consumed prefix of buffer_, dropped lazily
  std::optional<Status> error_;
};

}  // namespace caravan::protocol
