#include "daemon/link/frame_codec.h"

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>

#include "protocol/peer.capnp.h"

namespace caravan::daemon::link {

namespace {

// A Bye reason longer than this is cut: it is only ever logged.
constexpr size_t kMaxByeReason = 256;

std::vector<uint8_t> Serialize(capnp::MallocMessageBuilder& builder) {
  return SerializeMessage(builder);
}

}  // namespace

capnp::ReaderOptions PeerReaderOptions(size_t max_message_bytes) {
  capnp::ReaderOptions options;
  // One traversal word per word of message: a message cannot amplify reads
  // beyond its own size (no pointer aliasing tricks).
  options.traversalLimitInWords = std::max<size_t>(max_message_bytes / 8, 1);
  options.nestingLimit = kPeerNestingLimit;
  return options;
}

std::vector<uint8_t> SerializeMessage(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<std::vector<uint8_t>> SplitAppMessage(std::span<const uint8_t> message,
                                                  bool compressed) {
  std::vector<std::vector<uint8_t>> chunks;
  const uint64_t n = message.size() | (compressed ? kCompressedFlag : 0);
  std::vector<uint8_t> current = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                                  static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  current.reserve(std::min<size_t>(crypto::kNoiseMaxPayload, message.size() + kAppLengthBytes));
  size_t offset = 0;
  while (offset < message.size()) {
    const size_t room = crypto::kNoiseMaxPayload - current.size();
    const size_t take = std::min(room, message.size() - offset);
    current.insert(current.end(), message.begin() + offset, message.begin() + offset + take);
    offset += take;
    if (current.size() == crypto::kNoiseMaxPayload && offset < message.size()) {
      chunks.push_back(std::move(current));
      current.clear();
      current.reserve(std::min(crypto::kNoiseMaxPayload, message.size() - offset));
    }
  }
  chunks.push_back(std::move(current));
  return chunks;
}

std::optional<std::vector<uint8_t>> SealFrame(crypto::CipherState& cipher,
                                              std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> frame(kFrameLengthBytes);
  frame.reserve(kFrameLengthBytes + plaintext.size() + crypto::kNoiseTagSize);
  if (!cipher.EncryptWithAd({}, plaintext, &frame)) return std::nullopt;
  const size_t n = frame.size() - kFrameLengthBytes;
  frame[0] = static_cast<uint8_t>(n >> 8);
  frame[1] = static_cast<uint8_t>(n);
  return frame;
}

Result<size_t> ParseTransportFrameLength(std::span<const uint8_t, 2> header) {
  const size_t n = (size_t{header[0]} << 8) | header[1];
  if (n < crypto::kNoiseTagSize) {
    return InvalidInput("transport frame of " + std::to_string(n) +
                        " bytes is shorter than its 16-byte tag");
  }
  return n;
}

AppMessageAssembler::AppMessageAssembler(size_t max_message_bytes, bool accept_compressed)
    : max_message_bytes_(max_message_bytes),
      decompressor_(accept_compressed ? std::make_unique<MessageDecompressor>() : nullptr) {}

Status AppMessageAssembler::Append(std::span<const uint8_t> plaintext,
                                   std::vector<std::vector<capnp::word>>* out) {
  if (failed_) return InvalidInput("application stream already broken");
  while (!plaintext.empty()) {
    if (!in_body_) {
      const size_t take = std::min(kAppLengthBytes - header_fill_, plaintext.size());
      std::memcpy(header_ + header_fill_, plaintext.data(), take);
      header_fill_ += take;
      plaintext = plaintext.subspan(take);
      if (header_fill_ < kAppLengthBytes) break;
      const uint32_t prefix = (uint32_t{header_[0]} << 24) | (uint32_t{header_[1]} << 16) |
                              (uint32_t{header_[2]} << 8) | header_[3];
      const bool compressed = (prefix & kCompressedFlag) != 0;
      const size_t n = prefix & ~kCompressedFlag;
      if (compressed && decompressor_ == nullptr) {
        failed_ = true;
        return InvalidInput("compressed application message, but this node did not offer "
                            "compression");
      }
      // Checked before anything is allocated: a declared length costs us
      // nothing until its bytes actually arrive.
      if (n > max_message_bytes_) {
        failed_ = true;
        return InvalidInput("application message of " + std::to_string(n) +
                            " bytes exceeds the limit of " +
                            std::to_string(max_message_bytes_));
      }
      // A zstd frame may have any length; what it decodes to is checked
      // by the decompressor.
      if (n < kMinAppMessageBytes || (!compressed && n % sizeof(capnp::word) != 0)) {
        failed_ = true;
        return InvalidInput("application message length " + std::to_string(n) +
                            (compressed ? " is too short for a zstd frame"
                                        : " is not a whole number of Cap'n Proto words"));
      }
      body_compressed_ = compressed;
      header_fill_ = 0;
      in_body_ = true;
      body_bytes_ = n;
      body_fill_ = 0;
      body_.clear();
      // Grows as bytes arrive (at most one transport message ahead), so a
      // lying length prefix cannot make us reserve the whole limit.
    }
    const size_t take = std::min(body_bytes_ - body_fill_, plaintext.size());
    if (take == 0) break;  // only the length prefix arrived so far
    const size_t needed_words = (body_fill_ + take + sizeof(capnp::word) - 1) / sizeof(capnp::word);
    if (body_.size() < needed_words) body_.resize(needed_words);
    std::memcpy(reinterpret_cast<uint8_t*>(body_.data()) + body_fill_, plaintext.data(), take);
    body_fill_ += take;
    plaintext = plaintext.subspan(take);
    if (body_fill_ == body_bytes_) {
      carried_bytes_ += body_bytes_;
      if (body_compressed_) {
        auto plain = decompressor_->Decompress(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body_.data()), body_bytes_),
            max_message_bytes_);
        if (!plain.ok()) {
          failed_ = true;
          return plain.status();
        }
        body_ = std::move(*plain);
      }
      plain_bytes_ += body_.size() * sizeof(capnp::word);
      out->push_back(std::move(body_));
      body_ = {};
      in_body_ = false;
      body_fill_ = 0;
      body_bytes_ = 0;
    }
  }
  return Status::Ok();
}

Result<InboundMessage> InspectPeerMessage(std::span<const capnp::word> words,
                                          size_t max_message_bytes) {
  InboundMessage result;
  try {
    capnp::FlatArrayMessageReader reader(
        kj::ArrayPtr<const capnp::word>(words.data(), words.size()),
        PeerReaderOptions(max_message_bytes));
    auto root = reader.getRoot<protocol::wire::PeerMessage>();
    switch (root.which()) {
      case protocol::wire::PeerMessage::PING:
        result.kind = InboundMessage::kPing;
        result.nonce = root.getPing();
        break;
      case protocol::wire::PeerMessage::PONG:
        result.kind = InboundMessage::kPong;
        result.nonce = root.getPong();
        break;
      case protocol::wire::PeerMessage::BYE: {
        result.kind = InboundMessage::kBye;
        auto text = root.getBye();
        result.reason.assign(text.begin(), std::min<size_t>(text.size(), kMaxByeReason));
        break;
      }
      case protocol::wire::PeerMessage::HELLO:
        result.kind = InboundMessage::kApplication;
        result.hello = true;
        result.offers_zstd = OffersZstd(root.getHello());
        break;
      case protocol::wire::PeerMessage::RECORDS:
      case protocol::wire::PeerMessage::ACK:
        result.kind = InboundMessage::kApplication;
        break;
      case protocol::wire::PeerMessage::ERROR:
        // Only here: getError() on another union member would read that
        // member's data as a PeerError (an Ack whose upToSeq ends in 1027
        // would have looked like a roster refusal).
        if (root.getError().getCode() == kPeerErrorNotOnRoster) {
          // A roster refusal (docs/wire.md 4.4): the link layer's own.
          result.kind = InboundMessage::kRefused;
          result.reason = "not_on_roster";
          auto text = root.getError().getMessage();
          result.refusal_text.assign(text.begin(),
                                     std::min<size_t>(text.size(), kMaxRefusalText));
          break;
        }
        result.kind = InboundMessage::kApplication;
        break;
      case protocol::wire::PeerMessage::SEALED:      // hub mode
      case protocol::wire::PeerMessage::SEALED_ACK:  // hub mode
      case protocol::wire::PeerMessage::PREKEY:      // forward secrecy
      case protocol::wire::PeerMessage::IDENTITY_ROTATION:  // h-ident
      case protocol::wire::PeerMessage::COMPROMISE_NOTICE:  // issue 16
        result.kind = InboundMessage::kApplication;
        break;
      default:
        return InvalidInput("peer message with unknown kind " +
                            std::to_string(static_cast<int>(root.which())));
    }
  } catch (const kj::Exception& e) {
    return InvalidInput(std::string("unreadable peer message: ") + e.getDescription().cStr());
  }
  return result;
}

std::vector<uint8_t> PingMessage(uint64_t nonce) {
  capnp::MallocMessageBuilder builder(16);
  builder.initRoot<protocol::wire::PeerMessage>().setPing(nonce);
  return Serialize(builder);
}

std::vector<uint8_t> PongMessage(uint64_t nonce) {
  capnp::MallocMessageBuilder builder(16);
  builder.initRoot<protocol::wire::PeerMessage>().setPong(nonce);
  return Serialize(builder);
}

std::vector<uint8_t> ByeMessage(std::string_view reason) {
  capnp::MallocMessageBuilder builder(64);
  reason = reason.substr(0, kMaxByeReason);
  builder.initRoot<protocol::wire::PeerMessage>().setBye(
      capnp::Text::Reader(reason.data(), reason.size()));
  return Serialize(builder);
}

std::vector<uint8_t> RefusalMessage(std::string_view text) {
  capnp::MallocMessageBuilder builder(64);
  auto error = builder.initRoot<protocol::wire::PeerMessage>().initError();
  // A copy: capnp's Text::Reader needs a NUL after the text's last byte.
  const std::string cut(text.substr(0, kMaxRefusalText));
  error.setCode(kPeerErrorNotOnRoster);
  error.setMessage(capnp::Text::Reader(cut.c_str(), cut.size()));
  return Serialize(builder);
}

}  // namespace caravan::daemon::link
