// Pins the link handshake bytes from the outside: a hand-written Noise
// initiator and responder (crypto/noise.h directly, not daemon/link) talk to
// a real LinkManager and check the 2-byte big-endian framing, the exact
// message lengths, the 96-byte identity payloads and the "caravan/1"
// prologue (docs/wire.md).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/serialize.h>

#include "daemon/link/link_manager.h"
#include "protocol/peer.capnp.h"
#include "tests/unit/link/link_test_util.h"

namespace caravan::daemon::link {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::use_awaitable;
using namespace testing;  // NOLINT: test helpers

void Rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

struct Server {
  explicit Server(asio::io_context& io, const TestNode& node, std::vector<PeerIdentity> roster)
      : manager(io, *node.identity, *node.link_key, FastOptions(), RecordingRunner(sessions),
                Recorder(events)) {
    EXPECT_TRUE(manager.Start(roster).ok());
  }
  std::shared_ptr<SessionLog> sessions = std::make_shared<SessionLog>();
  std::shared_ptr<EventLog> events = std::make_shared<EventLog>();
  LinkManager manager;
};

asio::awaitable<void> PingAndTalk(RawClient& client, const TestNode& node, uint16_t port,
                                  std::optional<std::vector<uint8_t>>* pong_plaintext) {
  co_await RawConnect(client, port);
  const RawClientOptions options;
  co_await RawInitiatorHandshake(client, node, options);
  if (!client.handshake_ok) co_return;
  co_await RawSendApp(client, PingMessage(77));
  *pong_plaintext = co_await RawReadTransport(client);
  capnp::MallocMessageBuilder builder;
  BuildTextMessage(builder, 70000, 'w');  // two transport messages
  co_await RawSendApp(client, SerializeMessage(builder));
}

TEST(HandshakeWire, HandWrittenInitiatorMatchesTheWireFormat) {
  asio::io_context io;
  TestNode server_node = MakeNode("CERT-S"), client_node = MakeNode("CERT-C", "KZ");
  Server server(io, server_node, {IdentityOf(client_node)});
  RawClient client(io);
  std::optional<std::vector<uint8_t>> pong;
  asio::co_spawn(io, PingAndTalk(client, client_node, server.manager.listen_port(), &pong),
                 Rethrow);
  ASSERT_TRUE(RunUntil(io, [&] { return server.sessions->received.size() == 1; }));
  ASSERT_TRUE(client.handshake_ok);

  // Message 1: 00 20 then the 32-byte ephemeral key (empty payload).
  // Message 3: 00 a0 then 48 (encrypted static) + 96 + 16 bytes.
  ASSERT_EQ(client.wire_out.size(), 2 + 32 + 2 + 160u);
  EXPECT_EQ(client.wire_out[0], 0x00);
  EXPECT_EQ(client.wire_out[1], 0x20);
  EXPECT_EQ(client.wire_out[34], 0x00);
  EXPECT_EQ(client.wire_out[35], 0xa0);
  // Message 2: 00 c0 then 32 (e) + 48 (encrypted static) + 96 + 16 bytes,
  // its payload the server's identity key certifying its static key.
  ASSERT_EQ(client.wire_in.size(), 2 + 192u);
  EXPECT_EQ(client.wire_in[0], 0x00);
  EXPECT_EQ(client.wire_in[1], 0xc0);
  ASSERT_TRUE(client.responder_identity.has_value());
  EXPECT_EQ(*client.responder_identity, server_node.identity->public_key());

  // The link answered our ping with a pong carrying the same nonce, framed
  // as 4-byte big-endian length || Cap'n Proto flat array.
  ASSERT_TRUE(pong.has_value());
  ASSERT_GE(pong->size(), 4u);
  const size_t length = (size_t{(*pong)[0]} << 24) | (size_t{(*pong)[1]} << 16) |
                        (size_t{(*pong)[2]} << 8) | (*pong)[3];
  ASSERT_EQ(length + 4, pong->size());
  std::vector<capnp::word> words(length / 8);
  std::memcpy(static_cast<void*>(words.data()), pong->data() + 4, length);
  capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words.data(), words.size()));
  auto root = reader.getRoot<protocol::wire::PeerMessage>();
  ASSERT_TRUE(root.isPong());
  EXPECT_EQ(root.getPong(), 77u);

  // And our application message reached the session (the ping did not).
  EXPECT_TRUE(IsTextMessage(server.sessions->received[0], 70000, 'w'));
  EXPECT_EQ(server.events->Count(LinkEvent::kUp), 1u);
  EXPECT_EQ(server.sessions->links[0]->peer().name, "CERT-C");
  server.manager.Stop();
}

TEST(HandshakeWire, AnotherPrologueFailsTheHandshake) {
  asio::io_context io;
  TestNode server_node = MakeNode("CERT-S"), client_node = MakeNode("CERT-C");
  Server server(io, server_node, {IdentityOf(client_node)});
  RawClient client(io);
  RawClientOptions options;
  const std::string other = "caravan/2";
  options.prologue.assign(other.begin(), other.end());
  bool closed = false;
  auto run = [&]() -> asio::awaitable<void> {
    co_await RawConnect(client, server.manager.listen_port());
    co_await RawInitiatorHandshake(client, client_node, options);
    closed = co_await RawReadUntilClosed(client);
  };
  asio::co_spawn(io, run(), Rethrow);
  ASSERT_TRUE(RunUntil(io, [&] { return closed; }));
  // The prologue is in the handshake hash: the client cannot even decrypt
  // message 2, so it never completes.
  EXPECT_FALSE(client.handshake_ok);
  EXPECT_FALSE(client.responder_identity.has_value());
  EXPECT_TRUE(server.sessions->links.empty());
  EXPECT_EQ(server.events->Count(LinkEvent::kHandshakeFailed), 1u);
  server.manager.Stop();
}

// A hand-written responder that the LinkManager dials.
struct RawResponder {
  std::vector<uint8_t> msg1_frame, msg3_frame;
  std::optional<crypto::Ed25519PublicKey> initiator_identity;
  bool done = false;
};

asio::awaitable<void> Respond(tcp::acceptor& acceptor, const TestNode& node, RawResponder& out) {
  auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
  if (ec) co_return;
  out.msg1_frame.resize(2 + 32);
  auto [e1, n1] = co_await asio::async_read(socket, asio::buffer(out.msg1_frame),
                                            asio::as_tuple(use_awaitable));
  if (e1) co_return;
  auto hs = crypto::HandshakeState::Create([&] {
    crypto::NoiseConfig config;
    config.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
    config.initiator = false;
    config.prologue = {'c', 'a', 'r', 'a', 'v', 'a', 'n', '/', '1'};
    config.local_static = node.link_key.get();
    return config;
  }());
  auto payload1 = hs->ReadMessage(std::span(out.msg1_frame).subspan(2));
  if (!payload1 || !payload1->empty()) co_return;
  auto m2 = hs->WriteMessage(
      crypto::BuildHandshakePayload(*node.identity, node.link_key->public_key()));
  std::vector<uint8_t> frame2 = {uint8_t(m2->size() >> 8), uint8_t(m2->size())};
  frame2.insert(frame2.end(), m2->begin(), m2->end());
  auto [e2, n2] = co_await asio::async_write(socket, asio::buffer(frame2),
                                             asio::as_tuple(use_awaitable));
  if (e2) co_return;
  out.msg3_frame.resize(2 + 160);
  auto [e3, n3] = co_await asio::async_read(socket, asio::buffer(out.msg3_frame),
                                            asio::as_tuple(use_awaitable));
  if (e3) co_return;
  auto payload3 = hs->ReadMessage(std::span(out.msg3_frame).subspan(2));
  if (!payload3) co_return;
  EXPECT_EQ(payload3->size(), 96u);
  out.initiator_identity = crypto::VerifyHandshakePayload(*payload3, *hs->remote_static());
  out.done = true;
  boost::system::error_code ignored;
  socket.close(ignored);
}

TEST(HandshakeWire, DialerSpeaksTheWireFormatToAHandWrittenResponder) {
  asio::io_context io;
  TestNode dialer_node = MakeNode("CERT-D"), responder_node = MakeNode("CERT-R");
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  RawResponder responder;
  asio::co_spawn(io, Respond(acceptor, responder_node, responder), Rethrow);
  auto events = std::make_shared<EventLog>();
  LinkOptions options = FastOptions();
  options.listen.reset();
  LinkManager dialer(io, *dialer_node.identity, *dialer_node.link_key, options,
                     RecordingRunner(std::make_shared<SessionLog>()), Recorder(events));
  ASSERT_TRUE(dialer.Start({IdentityOf(responder_node, acceptor.local_endpoint().port())}).ok());
  EXPECT_EQ(dialer.listen_port(), 0);
  // The hand-written responder closes right after message 3 without a
  // word: the dialer counts a link as up only once the responder's first
  // message arrives (docs/wire.md 4.4), so none was up; it retries soon.
  ASSERT_TRUE(RunUntil(io, [&] { return responder.done; }));
  RunFor(io, std::chrono::milliseconds(300));
  EXPECT_EQ(events->Count(LinkEvent::kUp), 0u);
  EXPECT_EQ(responder.msg1_frame[0], 0x00);
  EXPECT_EQ(responder.msg1_frame[1], 0x20);
  EXPECT_EQ(responder.msg3_frame[0], 0x00);
  EXPECT_EQ(responder.msg3_frame[1], 0xa0);
  ASSERT_TRUE(responder.initiator_identity.has_value());
  EXPECT_EQ(*responder.initiator_identity, dialer_node.identity->public_key());
  dialer.Stop();
}

}  // namespace
}  // namespace caravan::daemon::link
