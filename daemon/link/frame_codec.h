#pragma once
// The byte-level codec of an established caravan link (docs/wire.md), with no
// sockets in it so it can be tested and fuzzed on its own:
//
// - An application message is one PeerMessage in Cap'n Proto flat-array form.
//   On the link it travels as a 4-byte big-endian length followed by those
//   bytes; this stream is cut into Noise transport messages of at most
//   crypto::kNoiseMaxPayload plaintext bytes (65535 ciphertext).
// - Every Noise message on the wire is preceded by its length as 2 bytes
//   big-endian.
//
// AppMessageAssembler turns decrypted transport plaintexts back into whole
// messages, enforcing the size limit before buffering anything.
//
// Plain values and pure functions; an assembler belongs to one link.

#include <capnp/common.h>
#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/noise.h"
#include "daemon/link/link_compression.h"
#include "protocol/status.h"

namespace caravan::daemon::link {

inline constexpr size_t kFrameLengthBytes = 2;   // before every Noise message
inline constexpr size_t kAppLengthBytes = 4;     // before every application message
// The smallest application message: one Cap'n Proto segment table word.
inline constexpr size_t kMinAppMessageBytes = 8;
// Cap'n Proto nesting limit for anything read from a peer.
inline constexpr int kPeerNestingLimit = 32;

// Limits for reading a PeerMessage of at most `max_message_bytes`.
capnp::ReaderOptions PeerReaderOptions(size_t max_message_bytes);

// `message` in flat-array bytes (capnp::messageToFlatArray).
std::vector<uint8_t> SerializeMessage(capnp::MessageBuilder& message);

// The transport plaintexts carrying one application message: the 4-byte
// big-endian length of `message` then its bytes, cut into pieces of at most
// crypto::kNoiseMaxPayload bytes. Never empty. With `compressed`, `message`
// is a zstd frame (link_compression.h) and the length carries
// kCompressedFlag (docs/wire.md 4.3).
std::vector<std::vector<uint8_t>> SplitAppMessage(std::span<const uint8_t> message,
                                                  bool compressed = false);

// Encrypts `plaintext` (<= kNoiseMaxPayload bytes) with `cipher` and returns
// the wire frame: 2-byte big-endian length || ciphertext. nullopt if the
// cipher refuses (oversize or nonce exhausted; the link must be dropped).
std::optional<std::vector<uint8_t>> SealFrame(crypto::CipherState& cipher,
                                              std::span<const uint8_t> plaintext);

// Reads the 2-byte big-endian frame length. A post-handshake frame must hold
// at least the 16-byte AEAD tag: shorter is kInvalidInput.
Result<size_t> ParseTransportFrameLength(std::span<const uint8_t, 2> header);

// Reassembles application messages from consecutive transport plaintexts.
class AppMessageAssembler {
 public:
  // With `accept_compressed` (this node offered compression in its Hello),
  // compressed messages are decompressed; without, one is refused.
  explicit AppMessageAssembler(size_t max_message_bytes, bool accept_compressed = false);

  // Consumes one decrypted transport plaintext and appends every message it
  // completes to *out (as words, ready for capnp::FlatArrayMessageReader;
  // compressed ones already decompressed). Fails with kInvalidInput, naming
  // the rule, when a declared length is above the limit, below
  // kMinAppMessageBytes or (uncompressed) not a multiple of 8, when a
  // compressed message arrives but was not offered, or when its zstd frame
  // is refused (MessageDecompressor); the stream is then unusable (the
  // link must be closed).
  Status Append(std::span<const uint8_t> plaintext,
                std::vector<std::vector<capnp::word>>* out);

  // Bytes of a message started but not finished (including a partial
  // length prefix).
  size_t pending_bytes() const { return header_fill_ + body_fill_; }

  // Over every completed message: its bytes as Cap'n Proto (decompressed)
  // and as carried on the link (compressed where it was), length prefixes
  // excluded. Equal while nothing arrived compressed.
  uint64_t plain_bytes() const { return plain_bytes_; }
  uint64_t carried_bytes() const { return carried_bytes_; }

 private:
  size_t max_message_bytes_;
  std::unique_ptr<MessageDecompressor> decompressor_;  // null: not accepted
  bool body_compressed_ = false;  // the message being read is a zstd frame
  uint64_t plain_bytes_ = 0;
  uint64_t carried_bytes_ = 0;
  uint8_t header_[kAppLengthBytes] = {};
  size_t header_fill_ = 0;
  std::vector<capnp::word> body_;
  size_t body_bytes_ = 0;  // declared length of the message being read
  size_t body_fill_ = 0;
  bool in_body_ = false;
  bool failed_ = false;
};

// What the link layer itself does with a received message.
struct InboundMessage {
  enum Kind { kApplication, kPing, kPong, kBye, kRefused } kind = kApplication;
  uint64_t nonce = 0;   // kPing/kPong
  std::string reason;   // kBye (as sent; log escaped); kRefused: "not_on_roster"
  // kRefused: the refusal's text as sent (at most kMaxRefusalText bytes).
  std::string refusal_text;
  // kApplication: a Hello, and whether it offers zstd (link_compression.h).
  bool hello = false;
  bool offers_zstd = false;
};

// Checks that `words` is a readable PeerMessage under PeerReaderOptions and
// says what kind it is. kInvalidInput if Cap'n Proto refuses it (bad segment
// table, pointer out of bounds, limits exceeded) or its union tag is unknown.
Result<InboundMessage> InspectPeerMessage(std::span<const capnp::word> words,
                                          size_t max_message_bytes);

// Flat-array bytes of the link's own messages.
std::vector<uint8_t> PingMessage(uint64_t nonce);
std::vector<uint8_t> PongMessage(uint64_t nonce);
std::vector<uint8_t> ByeMessage(std::string_view reason);
// Roster refusal (docs/wire.md 4.4): a PeerError with this code says "you
// are not on my roster"; the link layer handles it (InboundMessage::
// kRefused), the sync layer never sees it. Its text, for people, names the
// refuser: "not on the roster of CERT-UZ (UZ)".
inline constexpr uint16_t kPeerErrorNotOnRoster = 1027;
inline constexpr size_t kMaxRefusalText = 128;
// That PeerError, its text cut to kMaxRefusalText.
std::vector<uint8_t> RefusalMessage(std::string_view text);

}  // namespace caravan::daemon::link
