#pragma once
// Compression of application messages on a link (docs/wire.md 4.3).
//
// A node offers the codecs it accepts in Hello (`Hello.compression`, names
// such as "zstd"); a side compresses a message only when the peer offered
// the codec, and only after the peer's Hello arrived. A compressed message
// is one zstd frame of the whole PeerMessage flat array, taken BEFORE Noise
// encryption and before the stream is cut into transport messages; its
// 4-byte length prefix carries kCompressedFlag.
//
// Receiving is the dangerous half: the frame comes from a peer, so the
// decompressor refuses a frame that does not declare its content size, that
// declares more than the link's max_message_bytes (or a size that is not
// whole Cap'n Proto words), that holds more than one frame or trailing
// bytes, or that decodes to another size than declared. It decodes in one
// shot into a buffer of exactly the declared size (zstd never writes past
// the capacity it is given), so a decompression bomb costs at most
// max_message_bytes, the same as an uncompressed message.
//
// Each object owns one zstd context and belongs to one link (not
// thread-safe); the context is reused across that link's messages.

#include <capnp/common.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/config/node_config.h"
#include "protocol/peer.capnp.h"
#include "protocol/status.h"

namespace caravan::daemon::link {

// The codec name in Hello.compression.
inline constexpr std::string_view kZstdCodecName = "zstd";
// The top bit of an application message's 4-byte length: the body is a zstd
// frame and the other 31 bits are its compressed length.
inline constexpr uint32_t kCompressedFlag = 0x80000000u;
// Messages smaller than this are sent as they are: a zstd frame header and
// the CPU are not worth it for a ping, an ack or a Hello.
inline constexpr size_t kMinCompressBytes = 256;
// Hello.compression entries looked at (a longer list is not an error: only
// the first ones count).
inline constexpr size_t kMaxOfferedCodecs = 8;

// Puts the codecs `mode` accepts into `hello` (nothing for kOff: an older
// node's Hello looks the same, and means the same).
void OfferCompression(protocol::wire::Hello::Builder hello,
                      protocol::LinkCompression mode);

// Whether `hello` (from a peer) offers zstd.
bool OffersZstd(protocol::wire::Hello::Reader hello);

// Whether a message of this kind is worth compressing. Sealed envelopes are
// ciphertext already (random bytes do not compress): never.
bool IsCompressible(protocol::wire::PeerMessage::Which kind);

class MessageCompressor {
 public:
  // `level`: zstd level, kMinLinkCompressionLevel..kMaxLinkCompressionLevel.
  explicit MessageCompressor(int level);
  ~MessageCompressor();
  MessageCompressor(const MessageCompressor&) = delete;
  MessageCompressor& operator=(const MessageCompressor&) = delete;

  // One zstd frame of `message` (content size declared, no checksum: Noise
  // authenticates every byte), or nullopt when it would not be smaller than
  // `message` (send it uncompressed then).
  std::optional<std::vector<uint8_t>> Compress(std::span<const uint8_t> message);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

class MessageDecompressor {
 public:
  MessageDecompressor();
  ~MessageDecompressor();
  MessageDecompressor(const MessageDecompressor&) = delete;
  MessageDecompressor& operator=(const MessageDecompressor&) = delete;

  // The flat-array words `frame` decodes to, at most `max_message_bytes`.
  // kInvalidInput naming what was wrong (the rules in the file comment).
  Result<std::vector<capnp::word>> Decompress(std::span<const uint8_t> frame,
                                              size_t max_message_bytes);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace caravan::daemon::link
