#pragma once
// Helpers for link tests: node keys, a deadline-bounded io_context runner,
// recording session runners and a test-side Noise initiator written directly
// against crypto/noise.h (independent of daemon/link/handshake.cc, so the
// wire format is pinned from the outside).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <capnp/message.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_certificate.h"
#include "crypto/link_key.h"
#include "crypto/noise.h"
#include "daemon/link/link.h"
#include "daemon/link/link_manager.h"

namespace caravan::daemon::link::testing {

struct TestNode {
  std::string name;
  std::string country;
  std::unique_ptr<crypto::IdentityKey> identity;
  std::unique_ptr<crypto::LinkKey> link_key;
};
TestNode MakeNode(std::string name, std::string country = "UZ");
PeerIdentity IdentityOf(const TestNode& node, std::optional<uint16_t> port = std::nullopt);

// Small timeouts so failure paths finish quickly.
LinkOptions FastOptions();

// Runs `io` until `done()` or the deadline; true if done() became true.
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds deadline = std::chrono::seconds(20));
// Runs `io` for `duration` of wall time (nothing asserted on timing).
void RunFor(boost::asio::io_context& io, std::chrono::milliseconds duration);

// Records what every session saw.
struct SessionLog {
  std::vector<std::shared_ptr<Link>> links;
  std::vector<std::vector<capnp::word>> received;
  std::vector<Status> ends;  // why each session's Receive loop ended
};
SessionRunner RecordingRunner(std::shared_ptr<SessionLog> log);

// Events of one manager.
struct EventLog {
  std::vector<LinkEvent> events;
  size_t Count(LinkEvent::Kind kind) const;
  const LinkEvent* Last(LinkEvent::Kind kind) const;
};
std::function<void(const LinkEvent&)> Recorder(std::shared_ptr<EventLog> log);

// A PeerMessage `error` whose text is `size` bytes of a pattern seeded by
// `seed`; and the check that words hold exactly that message.
void BuildTextMessage(capnp::MessageBuilder& builder, size_t size, char seed);
bool IsTextMessage(const std::vector<capnp::word>& words, size_t size, char seed);

// Spawns a coroutine that sends a text message on `link` and stores the
// Status in *status.
void SpawnSend(const std::shared_ptr<Link>& link, size_t size, char seed,
               std::shared_ptr<std::optional<Status>> status);

// --- the test-side peer -------------------------------------------------

// What the test-side initiator should do differently from an honest node.
struct RawClientOptions {
  // Replaces the 96-byte payload of message 3.
  std::optional<crypto::HandshakePayload> payload_override;
  // Empty: the real "caravan/1". (Not a braced default: g++ 12 fails to
  // copy such an initializer into a coroutine frame.)
  std::vector<uint8_t> prologue;
};

// A raw connection speaking the caravan wire format by hand.
struct RawClient {
  explicit RawClient(boost::asio::io_context& io) : socket(io) {}
  boost::asio::ip::tcp::socket socket;
  crypto::NoiseTransport transport;
  std::vector<uint8_t> wire_in;   // every byte received during the handshake
  std::vector<uint8_t> wire_out;  // every byte sent during the handshake
  std::optional<crypto::Ed25519PublicKey> responder_identity;
  bool handshake_ok = false;
};

boost::asio::awaitable<void> RawConnect(RawClient& client, uint16_t port);
// Runs the initiator side by hand; sets handshake_ok.
boost::asio::awaitable<void> RawInitiatorHandshake(RawClient& client,
                                                   const TestNode& node,
                                                   const RawClientOptions& options);
// Sends one framed transport message carrying `plaintext`.
boost::asio::awaitable<bool> RawSendTransport(RawClient& client,
                                              std::vector<uint8_t> plaintext);
// Sends `message` (flat-array bytes) as an application message.
boost::asio::awaitable<bool> RawSendApp(RawClient& client, std::vector<uint8_t> message);
// Reads one framed transport message and decrypts it; nullopt on EOF/error.
boost::asio::awaitable<std::optional<std::vector<uint8_t>>> RawReadTransport(RawClient& client);
// Reads until the connection ends; true when it ended (EOF or reset).
boost::asio::awaitable<bool> RawReadUntilClosed(RawClient& client);

}  // namespace caravan::daemon::link::testing
