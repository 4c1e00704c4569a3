#include "daemon/link/handshake.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstring>

#include "crypto/handshake_chain.h"
#include "crypto/link_certificate.h"
#include "protocol/config/roster_file.h"

namespace caravan::daemon::link {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

// Writes one handshake message with its 2-byte length.
asio::awaitable<Status> WriteFramed(asio::ip::tcp::socket& socket,
                                    const std::vector<uint8_t>& message,
                                    HandshakeOutcome& outcome) {
  std::vector<uint8_t> frame(kFrameLengthBytes + message.size());
  frame[0] = static_cast<uint8_t>(message.size() >> 8);
  frame[1] = static_cast<uint8_t>(message.size());
  std::memcpy(frame.data() + kFrameLengthBytes, message.data(), message.size());
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(frame),
                                            asio::as_tuple(use_awaitable));
  outcome.bytes_sent += n;
  if (ec) co_return Unavailable("handshake write failed: " + ec.message());
  co_return Status::Ok();
}

// Reads one handshake message. With `identity_payload` false its length
// must be exactly `overhead`; with it true, `overhead` (Noise's keys and
// tags) plus an identity payload length (crypto/handshake_chain.h: a 96- or
// 112-byte certificate and up to 4 rotation statements).
asio::awaitable<Status> ReadFramed(asio::ip::tcp::socket& socket, size_t overhead,
                                   bool identity_payload, int number,
                                   std::vector<uint8_t>* message, HandshakeOutcome& outcome) {
  std::array<uint8_t, kFrameLengthBytes> header{};
  auto [ec, n] = co_await asio::async_read(socket, asio::buffer(header),
                                           asio::as_tuple(use_awaitable));
  outcome.bytes_received += n;
  if (ec) {
    co_return Unavailable("connection lost before handshake message " + std::to_string(number) +
                          ": " + ec.message());
  }
  const size_t length = (size_t{header[0]} << 8) | header[1];
  const bool fits = identity_payload
                        ? length >= overhead && crypto::IsHandshakePayloadSize(length - overhead)
                        : length == overhead;
  if (!fits) {
    co_return Corrupt(
        "handshake message " + std::to_string(number) + " is " + std::to_string(length) +
        " bytes, expected " +
        (identity_payload ? std::to_string(overhead) + " + 96 or 112 + 209 x (0 to " +
                                std::to_string(crypto::kMaxHandshakeChain) + ")"
                          : std::to_string(overhead)));
  }
  message->resize(length);
  auto [ec2, n2] = co_await asio::async_read(socket, asio::buffer(*message),
                                             asio::as_tuple(use_awaitable));
  outcome.bytes_received += n2;
  if (ec2) {
    co_return Unavailable("connection lost in handshake message " + std::to_string(number) +
                          ": " + ec2.message());
  }
  co_return Status::Ok();
}

// Checks a received identity payload and finds the member it names.
Status CheckPeer(const crypto::HandshakeState& hs, const std::vector<uint8_t>& payload,
                 const RosterLookup& lookup, const SerialCheck& check_serial,
                 const ChainLookup& chain_lookup,
                 const std::optional<protocol::PublicKey>& expected, HandshakeOutcome& outcome) {
  if (!hs.remote_static()) return Internal("handshake has no remote static key");
  std::string why;
  auto split = crypto::SplitHandshakePayload(payload, &why);
  if (!split) return Corrupt(why);
  auto cert = crypto::VerifyLinkPayload(split->certificate, *hs.remote_static(), &why);
  if (!cert) return Corrupt(why);
  const crypto::Ed25519PublicKey* identity = &cert->identity;
  if (!crypto::ChainEndsAt(split->chain, *identity)) {
    return Corrupt("the rotation chain in the identity payload does not end at its identity " +
                   protocol::PublicKeyToText(*identity));
  }
  auto member = lookup(*identity);
  if (!member && !split->chain.empty() && chain_lookup) {
    // A key the roster does not pin yet, with the chain from one it does
    // (the peer rotated while we were away).
    member = chain_lookup(*identity, split->chain);
    if (member) {
      outcome.via_chain = true;
      outcome.presented_identity = *identity;
    }
  }
  if (!member) {
    outcome.unknown_identity = !expected;  // a responder's case only
    outcome.unknown_identity_key = *identity;
    return Denied("identity " + protocol::PublicKeyToText(*identity) + " is not in the roster");
  }
  if (expected && *expected != member->key) {
    return Denied("dialed " + protocol::PublicKeyToText(*expected) + " but " + member->name +
                  " answered");
  }
  if (check_serial) {
    Status serial = check_serial(*member, cert->serial);
    if (!serial.ok()) {
      outcome.retired_key = true;
      outcome.peer = *member;  // who it claimed to be, for the event
      return serial;
    }
  }
  outcome.peer = std::move(*member);
  outcome.peer_serial = cert->serial;
  outcome.peer_not_before = cert->not_before;
  return Status::Ok();
}

// `*first_read` is set once the responder has read message 1 (which
// disarms its first-message deadline).
asio::awaitable<HandshakeOutcome> DoHandshake(asio::ip::tcp::socket& socket, bool initiator,
                                              const crypto::IdentityKey& identity,
                                              const LinkCredential& own,
                                              const RosterLookup& lookup,
                                              const SerialCheck& check_serial,
                                              const std::optional<protocol::PublicKey>& expected,
                                              std::shared_ptr<bool> first_read,
                                              const HandshakeChain& chain) {
  HandshakeOutcome outcome;
  auto hs = crypto::HandshakeState::Create(CaravanNoiseConfig(initiator, *own.key));
  if (!hs) {
    outcome.status = Internal("Noise handshake state could not be created");
    co_return outcome;
  }
  std::vector<uint8_t> own_payload =
      crypto::BuildLinkPayload(identity, own.key->public_key(), own.serial, own.not_before);
  own_payload.insert(own_payload.end(), chain.own.begin(), chain.own.end());
  std::vector<uint8_t> message;

  if (initiator) {
    auto m1 = hs->WriteMessage({});
    if (!m1) {
      outcome.status = Internal("Noise refused handshake message 1");
      co_return outcome;
    }
    outcome.status = co_await WriteFramed(socket, *m1, outcome);
    if (!outcome.status.ok()) co_return outcome;
    outcome.status = co_await ReadFramed(socket, kHandshake2Bytes - crypto::kHandshakePayloadSize,
                                         true, 2, &message, outcome);
    if (!outcome.status.ok()) co_return outcome;
    auto payload = hs->ReadMessage(message);
    if (!payload) {
      outcome.status = Corrupt("handshake message 2 failed to decrypt");
      co_return outcome;
    }
    // The responder is checked before we say who we are.
    outcome.status =
        CheckPeer(*hs, *payload, lookup, check_serial, chain.lookup, expected, outcome);
    if (!outcome.status.ok()) co_return outcome;
    auto m3 = hs->WriteMessage(own_payload);
    if (!m3) {
      outcome.status = Internal("Noise refused handshake message 3");
      co_return outcome;
    }
    outcome.status = co_await WriteFramed(socket, *m3, outcome);
    if (!outcome.status.ok()) co_return outcome;
  } else {
    outcome.status = co_await ReadFramed(socket, kHandshake1Bytes, false, 1, &message, outcome);
    if (!outcome.status.ok()) co_return outcome;
    *first_read = true;
    auto payload = hs->ReadMessage(message);
    if (!payload || !payload->empty()) {
      outcome.status = Corrupt("handshake message 1 is not a bare ephemeral key");
      co_return outcome;
    }
    auto m2 = hs->WriteMessage(own_payload);
    if (!m2) {
      outcome.status = Internal("Noise refused handshake message 2");
      co_return outcome;
    }
    outcome.status = co_await WriteFramed(socket, *m2, outcome);
    if (!outcome.status.ok()) co_return outcome;
    outcome.status = co_await ReadFramed(socket, kHandshake3Bytes - crypto::kHandshakePayloadSize,
                                         true, 3, &message, outcome);
    if (!outcome.status.ok()) co_return outcome;
    auto payload3 = hs->ReadMessage(message);
    if (!payload3) {
      outcome.status = Corrupt("handshake message 3 failed to decrypt");
      co_return outcome;
    }
    outcome.status =
        CheckPeer(*hs, *payload3, lookup, check_serial, chain.lookup, std::nullopt, outcome);
    if (outcome.unknown_identity && hs->IsComplete()) {
      // Keys for the one refusal the caller sends (the status stays kDenied).
      outcome.transport = hs->SplitTransport();
      co_return outcome;
    }
    outcome.unknown_identity = false;
    if (!outcome.status.ok()) co_return outcome;
  }
  if (!hs->IsComplete()) {
    outcome.status = Internal("Noise handshake not complete after message 3");
    co_return outcome;
  }
  outcome.transport = hs->SplitTransport();
  co_return outcome;
}

}  // namespace

crypto::NoiseConfig CaravanNoiseConfig(bool initiator, const crypto::LinkKey& local_static) {
  crypto::NoiseConfig config;
  config.protocol_name = kProtocolName;
  config.initiator = initiator;
  config.prologue.assign(kPrologue, kPrologue + sizeof(kPrologue) - 1);
  config.local_static = &local_static;
  return config;
}

// g++ 12 inlines Asio's coroutine frame allocator (aligned_alloc) and its
// operator delete into this frame and then reports them as mismatched
// (-Wmismatched-new-delete, a false positive: GCC bug 109224). They are the
// matching pair Asio provides.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<HandshakeOutcome> RunHandshake(asio::ip::tcp::socket& socket, bool initiator,
                                               const crypto::IdentityKey& identity,
                                               const LinkCredential& own,
                                               const RosterLookup& lookup,
                                               const SerialCheck& check_serial,
                                               std::optional<protocol::PublicKey> expected_peer,
                                               std::chrono::seconds timeout,
                                               std::chrono::milliseconds first_message_timeout,
                                               const HandshakeChain& chain) {
  // The deadline closes the socket, which fails the pending read. Not an
  // awaitable `||`: Boost 1.81's operators have a use-after-free in
  // cancellation (asio issue 1332).
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  timer.async_wait([&socket, expired](boost::system::error_code ec) {
    if (ec) return;
    *expired = true;
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  // The responder's first-message deadline: a connection that sends nothing
  // (the cheapest flood there is) holds its slot this long, not `timeout`.
  // The handler checks `first_read`, so an expiry that races the read of
  // message 1 does nothing.
  auto first_read = std::make_shared<bool>(false);
  auto first_expired = std::make_shared<bool>(false);
  asio::steady_timer first_timer(socket.get_executor());
  if (!initiator && first_message_timeout.count() > 0 && first_message_timeout < timeout) {
    first_timer.expires_after(first_message_timeout);
    first_timer.async_wait(
        [&socket, first_read, first_expired](boost::system::error_code ec) {
          if (ec || *first_read) return;
          *first_expired = true;
          boost::system::error_code ignored;
          socket.close(ignored);
        });
  }
  HandshakeOutcome outcome = co_await DoHandshake(
      socket, initiator, identity, own, lookup, check_serial, expected_peer, first_read, chain);
  timer.cancel();
  first_timer.cancel();
  if (*first_expired) {
    HandshakeOutcome timed_out;
    timed_out.timed_out = true;
    timed_out.status = Unavailable("no handshake message within " +
                                   std::to_string(first_message_timeout.count()) + " ms");
    co_return timed_out;
  }
  if (*expired) {
    HandshakeOutcome timed_out;
    timed_out.timed_out = true;
    timed_out.status = Unavailable("handshake not finished within " +
                                   std::to_string(timeout.count()) + "s");
    co_return timed_out;
  }
  co_return outcome;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace caravan::daemon::link
