#pragma once
// RawPeer: one TCP connection to a real caravand's peer port, speaking the
// link protocol by hand with the project's own libraries (Noise, link
// certificates, frame codec, record codec) and blocking I/O with deadlines,
// so integration tests can act as a member the daemon cannot tell from a
// real one: hostile peers (hostile_peer_test.cc), a member rotating its
// identity key (identity_rotation_test.cc). Answers pings while it waits.
//
// Not thread-safe; owns its socket; borrows the identity key.

#include <arpa/inet.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_certificate.h"
#include "crypto/link_key.h"
#include "crypto/merkle.h"
#include "crypto/noise.h"
#include "daemon/link/frame_codec.h"
#include "protocol/peer.capnp.h"
#include "protocol/record_codec.h"

namespace caravan::integration {

// One TCP connection to a daemon's peer port, speaking the link protocol
// by hand with blocking I/O and deadlines. Answers pings while it waits
// for other messages (unless told to stop reading altogether).
class RawPeer {
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxMessage = 16 * 1024 * 1024;

 public:
  explicit RawPeer(const crypto::IdentityKey& identity)
      : identity_(identity),
        link_key_(crypto::LinkKey::Generate()),
        assembler_(kMaxMessage) {}
  ~RawPeer() {
    if (fd_ >= 0) close(fd_);
  }

  // Certifies the link key with this serial (>= 1: the 112-byte payload of
  // a rotated link key), e.g. to pass a member's highest serial seen.
  void UseLinkSerial(uint64_t serial) { serial_ = serial; }

  bool Connect(uint16_t port, int rcvbuf = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    if (rcvbuf > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }

  // Noise XX as the initiator (docs/wire.md section 2). True when message 2
  // verified and message 3 was sent; the daemon may still refuse us after.
  bool Handshake(std::string* why) {
    crypto::NoiseConfig config;
    config.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
    config.initiator = true;
    const std::string prologue = "caravan/1";
    config.prologue.assign(prologue.begin(), prologue.end());
    config.local_static = link_key_.get();
    auto hs = crypto::HandshakeState::Create(std::move(config));
    if (!hs) return Fail(why, "cannot create the handshake state");
    auto m1 = hs->WriteMessage({});
    if (!m1 || !WriteFramed(*m1)) return Fail(why, "cannot send message 1");
    auto m2 = ReadFramed(std::chrono::seconds(10));
    if (!m2) return Fail(why, "no message 2");
    auto payload = hs->ReadMessage(*m2);
    if (!payload || !hs->remote_static()) return Fail(why, "bad message 2");
    if (!crypto::VerifyHandshakePayload(*payload, *hs->remote_static())) {
      return Fail(why, "responder payload does not verify");
    }
    const auto mine = crypto::BuildLinkPayload(
        identity_, link_key_->public_key(), serial_,
        serial_ == 0 ? 0 : static_cast<int64_t>(std::time(nullptr)));
    auto m3 = hs->WriteMessage(mine);
    if (!m3 || !WriteFramed(*m3)) return Fail(why, "cannot send message 3");
    transport_ = hs->SplitTransport();
    return true;
  }

  bool SendHello(uint64_t acked = 0, bool whole_batches = false,
                 const std::string& name = "HOSTILE", const std::string& country = "TJ") {
    capnp::MallocMessageBuilder m;
    auto hello = m.initRoot<protocol::wire::PeerMessage>().initHello();
    hello.setProtocolVersion(1);
    hello.setNodeName(name);
    hello.setCountry(country);
    hello.setAckedSeq(acked);
    hello.setWholeBatches(whole_batches);
    return Send(m);
  }

  // Sends one whole batch (docs/wire.md 4.0) of `bodies` signed by
  // `origin` at sender seqs first_seq...; `forge` spoils the signature.
  bool SendWholeBatch(const crypto::IdentityKey& origin,
                      const std::vector<std::vector<uint8_t>>& bodies,
                      uint64_t first_seq, bool forge) {
    crypto::MerkleSaltSeed seed{};
    randombytes_buf(seed.data(), seed.size());
    std::vector<std::span<const uint8_t>> leaves(bodies.begin(), bodies.end());
    auto batch = crypto::SignSeededBatch(origin, leaves, seed);
    if (forge) batch.root_signature[9] ^= 0x10;
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<protocol::wire::PeerMessage>().initRecords();
    auto w = r.initBatches(1)[0];
    const auto key = origin.public_key();
    w.setOrigin(kj::arrayPtr(key.data(), key.size()));
    w.setSaltSeed(kj::arrayPtr(seed.data(), seed.size()));
    w.setRootSignature(
        kj::arrayPtr(batch.root_signature.data(), batch.root_signature.size()));
    auto list = w.initLeaves(static_cast<unsigned>(bodies.size()));
    for (unsigned i = 0; i < bodies.size(); ++i) {
      list[i].setSenderSeq(first_seq + i);
      list[i].setBody(kj::arrayPtr(bodies[i].data(), bodies[i].size()));
    }
    r.setUpToSeq(first_seq + bodies.size() - 1);
    return Send(m);
  }

  // Sends an identity key rotation statement (PeerMessage.identityRotation).
  bool SendIdentityRotation(const std::vector<uint8_t>& statement) {
    capnp::MallocMessageBuilder m;
    m.initRoot<protocol::wire::PeerMessage>().setIdentityRotation(
        kj::arrayPtr(statement.data(), statement.size()));
    return Send(m);
  }

  // The next Records message the daemon sends us (others are skipped).
  std::optional<std::vector<capnp::word>> NextRecords(
      std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto words = Next(deadline);
      if (!words) return std::nullopt;
      capnp::FlatArrayMessageReader reader(
          kj::arrayPtr(words->data(), words->size()),
          daemon::link::PeerReaderOptions(kMaxMessage));
      if (reader.getRoot<protocol::wire::PeerMessage>().isRecords()) {
        return words;
      }
    }
    return std::nullopt;
  }

  bool Send(capnp::MessageBuilder& m) {
    return SendBytes(daemon::link::SerializeMessage(m));
  }
  bool SendBytes(const std::vector<uint8_t>& message) {
    for (const auto& piece : daemon::link::SplitAppMessage(message)) {
      if (!SendPlaintext(piece)) return false;
    }
    return true;
  }
  // One transport message with exactly this plaintext.
  bool SendPlaintext(const std::vector<uint8_t>& plaintext) {
    auto frame = daemon::link::SealFrame(transport_.send, plaintext);
    return frame && WriteAll(*frame);
  }
  bool WriteAll(const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done,
                       MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Sends Records with these signed records (sender seqs first_seq...).
  bool SendRecords(const std::vector<protocol::SignedRecord>& records,
                   uint64_t first_seq) {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<protocol::wire::PeerMessage>().initRecords();
    auto entries = r.initEntries(static_cast<unsigned>(records.size()));
    for (unsigned i = 0; i < records.size(); ++i) {
      entries[i].setSenderSeq(first_seq + i);
      protocol::FillSignedRecord(records[i], entries[i].initRecord());
    }
    r.setUpToSeq(first_seq + records.size() - 1);
    return Send(m);
  }

  // Reads messages (answering pings) until an Ack covering `seq` arrives.
  bool WaitAck(uint64_t seq, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto words = Next(deadline);
      if (!words) return false;
      capnp::FlatArrayMessageReader reader(
          kj::arrayPtr(words->data(), words->size()),
          daemon::link::PeerReaderOptions(kMaxMessage));
      auto root = reader.getRoot<protocol::wire::PeerMessage>();
      if (root.isAck() && root.getAck().getUpToSeq() >= seq) return true;
    }
    return false;
  }

  // Reads and discards until the daemon closes the connection (true) or
  // `timeout` passes (false).
  bool WaitClosed(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    uint8_t buf[4096];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  static bool Fail(std::string* why, const std::string& text) {
    *why = text;
    return false;
  }

  bool WriteFramed(const std::vector<uint8_t>& noise_message) {
    std::vector<uint8_t> out = {
        static_cast<uint8_t>(noise_message.size() >> 8),
        static_cast<uint8_t>(noise_message.size() & 0xff)};
    out.insert(out.end(), noise_message.begin(), noise_message.end());
    return WriteAll(out);
  }

  bool ReadExact(uint8_t* out, size_t n, Clock::time_point deadline) {
    size_t done = 0;
    while (done < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t got = recv(fd_, out + done, n - done, 0);
      if (got <= 0) return false;
      done += static_cast<size_t>(got);
    }
    return true;
  }

  std::optional<std::vector<uint8_t>> ReadFramed(std::chrono::seconds timeout) {
    return ReadFramedUntil(Clock::now() + timeout);
  }
  std::optional<std::vector<uint8_t>> ReadFramedUntil(Clock::time_point dl) {
    uint8_t len[2];
    if (!ReadExact(len, 2, dl)) return std::nullopt;
    std::vector<uint8_t> body((size_t{len[0]} << 8) | len[1]);
    if (!ReadExact(body.data(), body.size(), dl)) return std::nullopt;
    return body;
  }

  // The next application message; pings are answered on the way.
  std::optional<std::vector<capnp::word>> Next(Clock::time_point deadline) {
    while (pending_.empty()) {
      auto frame = ReadFramedUntil(deadline);
      if (!frame) return std::nullopt;
      auto plain = transport_.receive.Decrypt(*frame);
      if (!plain) return std::nullopt;
      std::vector<std::vector<capnp::word>> out;
      if (!assembler_.Append(*plain, &out).ok()) return std::nullopt;
      for (auto& words : out) {
        auto kind = daemon::link::InspectPeerMessage(words, kMaxMessage);
        if (!kind.ok()) return std::nullopt;
        if (kind->kind == daemon::link::InboundMessage::kPing) {
          SendBytes(daemon::link::PongMessage(kind->nonce));
        } else if (kind->kind == daemon::link::InboundMessage::kApplication) {
          pending_.push_back(std::move(words));
        }
      }
    }
    auto words = std::move(pending_.front());
    pending_.pop_front();
    return words;
  }

  uint64_t serial_ = 0;
  const crypto::IdentityKey& identity_;
  std::unique_ptr<crypto::LinkKey> link_key_;
  int fd_ = -1;
  crypto::NoiseTransport transport_;
  daemon::link::AppMessageAssembler assembler_;
  std::deque<std::vector<capnp::word>> pending_;
};

}  // namespace caravan::integration
