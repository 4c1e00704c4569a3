// Hostile peers, written with the project's own libraries against a real
// LinkManager: each is refused or disconnected with the right event, and a
// well-behaved peer is served throughout.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <sodium.h>
#include <zstd.h>

#include "daemon/link/link_manager.h"
#include "tests/unit/link/link_test_util.h"

namespace caravan::daemon::link {
namespace {

namespace asio = boost::asio;
using asio::use_awaitable;
using namespace testing;  // NOLINT: test helpers

void Rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// A daemon (S) that knows the hostile node H and a good node G.
struct Fixture {
  asio::io_context io;
  TestNode s = MakeNode("CERT-S");
  TestNode h = MakeNode("HOSTILE", "XX");
  TestNode g = MakeNode("CERT-G", "KZ");
  std::shared_ptr<SessionLog> sessions = std::make_shared<SessionLog>();
  std::shared_ptr<EventLog> events = std::make_shared<EventLog>();
  std::unique_ptr<LinkManager> server;

  void Start(LinkOptions options, SessionRunner runner = nullptr) {
    server = std::make_unique<LinkManager>(io, *s.identity, *s.link_key, options,
                                           runner ? runner : RecordingRunner(sessions),
                                           Recorder(events));
    ASSERT_TRUE(server->Start({IdentityOf(h), IdentityOf(g)}).ok());
  }
  uint16_t port() const { return server->listen_port(); }
};

LinkOptions HostileOptions() {
  LinkOptions options = FastOptions();
  options.handshake_timeout = std::chrono::seconds(1);
  options.idle_timeout = std::chrono::seconds(2);
  options.max_message_bytes = 1 << 20;
  options.max_send_queue_bytes = 4 << 20;
  return options;
}

// Connects, handshakes as `node`, runs `after` (if any), then reads until
// the server closes the connection.
asio::awaitable<void> HandshakeThen(RawClient& client, const TestNode& node, uint16_t port,
                                    RawClientOptions options,
                                    std::function<asio::awaitable<void>(RawClient&)> after,
                                    bool* closed) {
  co_await RawConnect(client, port);
  co_await RawInitiatorHandshake(client, node, options);
  if (client.handshake_ok && after) co_await after(client);
  *closed = co_await RawReadUntilClosed(client);
}

TEST(HostilePeer, UnknownIdentityIsRefusedBeforeAnyApplicationData) {
  Fixture f;
  f.Start(HostileOptions());
  TestNode stranger = MakeNode("STRANGER");
  RawClient client(f.io);
  bool closed = false;
  asio::co_spawn(f.io, HandshakeThen(client, stranger, f.port(), {}, nullptr, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kUnknownPeer), 1u);
  EXPECT_NE(f.events->Last(LinkEvent::kUnknownPeer)->detail.find("not in the roster"),
            std::string::npos);
  EXPECT_FALSE(f.events->Last(LinkEvent::kUnknownPeer)->remote_endpoint.empty());
  EXPECT_EQ(f.events->Count(LinkEvent::kUp), 0u);
  EXPECT_TRUE(f.sessions->links.empty());
  f.server->Stop();
}

TEST(HostilePeer, LinkCertificateOverAnotherStaticKeyFailsTheHandshake) {
  Fixture f;
  f.Start(HostileOptions());
  auto other = crypto::LinkKey::Generate();
  RawClientOptions options;
  options.payload_override = crypto::BuildHandshakePayload(*f.h.identity, other->public_key());
  RawClient client(f.io);
  bool closed = false;
  asio::co_spawn(f.io, HandshakeThen(client, f.h, f.port(), options, nullptr, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kHandshakeFailed), 1u);
  EXPECT_NE(f.events->Last(LinkEvent::kHandshakeFailed)->detail.find("certificate"),
            std::string::npos);
  EXPECT_EQ(f.events->Count(LinkEvent::kUp), 0u);
  f.server->Stop();
}

asio::awaitable<void> SendRawBytes(RawClient& client, uint16_t port, std::vector<uint8_t> bytes,
                                   bool* closed) {
  co_await RawConnect(client, port);
  auto [ec, n] = co_await asio::async_write(client.socket, asio::buffer(bytes),
                                            asio::as_tuple(use_awaitable));
  (void)ec;
  *closed = co_await RawReadUntilClosed(client);
}

TEST(HostilePeer, GarbageInsteadOfAHandshakeIsRefused) {
  Fixture f;
  f.Start(HostileOptions());
  std::vector<uint8_t> garbage(300);
  randombytes_buf(garbage.data(), garbage.size());
  garbage[0] = 0x01;  // declares a 256+ byte message 1
  RawClient client(f.io);
  bool closed = false;
  asio::co_spawn(f.io, SendRawBytes(client, f.port(), garbage, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kHandshakeFailed), 1u);
  EXPECT_NE(f.events->Last(LinkEvent::kHandshakeFailed)->detail.find("message 1"),
            std::string::npos);
  f.server->Stop();
}

TEST(HostilePeer, AHandshakeThatNeverFinishesTimesOut) {
  Fixture f;
  f.Start(HostileOptions());
  // A valid-looking message 1 (any 32 bytes are an X25519 key), then nothing.
  std::vector<uint8_t> msg1(2 + 32);
  msg1[1] = 0x20;
  randombytes_buf(msg1.data() + 2, 32);
  RawClient client(f.io);
  bool closed = false;
  asio::co_spawn(f.io, SendRawBytes(client, f.port(), msg1, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kHandshakeFailed), 1u);
  EXPECT_NE(f.events->Last(LinkEvent::kHandshakeFailed)->detail.find("not finished within 1s"),
            std::string::npos);
  f.server->Stop();
}

TEST(HostilePeer, GarbageAfterTheHandshakeIsAProtocolViolation) {
  Fixture f;
  f.Start(HostileOptions());
  RawClient client(f.io);
  bool closed = false;
  auto garbage = [](RawClient& c) -> asio::awaitable<void> {
    std::vector<uint8_t> frame(2 + 100);
    randombytes_buf(frame.data() + 2, 100);
    frame[0] = 0;
    frame[1] = 100;
    auto [ec, n] = co_await asio::async_write(c.socket, asio::buffer(frame),
                                              asio::as_tuple(use_awaitable));
    (void)ec;
  };
  asio::co_spawn(f.io, HandshakeThen(client, f.h, f.port(), {}, garbage, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kProtocolViolation), 1u);
  EXPECT_EQ(f.events->Last(LinkEvent::kProtocolViolation)->peer_name, "HOSTILE");
  EXPECT_NE(f.events->Last(LinkEvent::kProtocolViolation)->detail.find("decrypt"),
            std::string::npos);
  ASSERT_EQ(f.sessions->ends.size(), 1u);
  EXPECT_EQ(f.sessions->ends[0].code(), StatusCode::kCorrupt);
  EXPECT_TRUE(f.sessions->received.empty());
  f.server->Stop();
}

TEST(HostilePeer, DeclaredMessageLengthAboveTheLimitIsAProtocolViolation) {
  Fixture f;
  f.Start(HostileOptions());
  RawClient client(f.io);
  bool closed = false;
  auto oversize = [](RawClient& c) -> asio::awaitable<void> {
    const uint32_t n = (1u << 20) + 8;  // one word over max_message_bytes
    std::vector<uint8_t> plaintext = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8),
                                      uint8_t(n), 0, 0, 0, 0};
    co_await RawSendTransport(c, plaintext);
  };
  asio::co_spawn(f.io, HandshakeThen(client, f.h, f.port(), {}, oversize, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kProtocolViolation), 1u);
  EXPECT_NE(f.events->Last(LinkEvent::kProtocolViolation)->detail.find("exceeds the limit"),
            std::string::npos);
  ASSERT_EQ(f.sessions->ends.size(), 1u);
  EXPECT_EQ(f.sessions->ends[0].code(), StatusCode::kCorrupt);
  f.server->Stop();
}

// docs/wire.md 4.3: a compressed message whose zstd frame declares more
// than max_message_bytes (a decompression bomb: 4 MiB of zeros in a few
// hundred bytes) is refused before anything is allocated, closing the
// link as a protocol violation naming the peer.
TEST(HostilePeer, CompressedBombIsAProtocolViolation) {
  Fixture f;
  f.Start(HostileOptions());
  RawClient client(f.io);
  bool closed = false;
  auto bomb = [](RawClient& c) -> asio::awaitable<void> {
    const std::vector<uint8_t> zeros(4u << 20, 0);
    std::vector<uint8_t> frame(ZSTD_compressBound(zeros.size()));
    frame.resize(ZSTD_compress(frame.data(), frame.size(), zeros.data(), zeros.size(), 3));
    const uint32_t n = static_cast<uint32_t>(frame.size()) | kCompressedFlag;
    std::vector<uint8_t> plaintext = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8),
                                      uint8_t(n)};
    plaintext.insert(plaintext.end(), frame.begin(), frame.end());
    co_await RawSendTransport(c, plaintext);
  };
  asio::co_spawn(f.io, HandshakeThen(client, f.h, f.port(), {}, bomb, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kProtocolViolation), 1u);
  EXPECT_EQ(f.events->Last(LinkEvent::kProtocolViolation)->peer_name, "HOSTILE");
  EXPECT_NE(f.events->Last(LinkEvent::kProtocolViolation)->detail.find("above the limit"),
            std::string::npos)
      << f.events->Last(LinkEvent::kProtocolViolation)->detail;
  ASSERT_EQ(f.sessions->ends.size(), 1u);
  EXPECT_EQ(f.sessions->ends[0].code(), StatusCode::kCorrupt);
  EXPECT_TRUE(f.sessions->received.empty());
  f.server->Stop();
}

TEST(HostilePeer, ASilentPeerIsClosedAfterTheIdleTimeout) {
  Fixture f;
  f.Start(HostileOptions());
  RawClient client(f.io);
  bool closed = false;
  // Completes the handshake, then only reads (never answers pings).
  asio::co_spawn(f.io, HandshakeThen(client, f.h, f.port(), {}, nullptr, &closed), Rethrow);
  ASSERT_TRUE(RunUntil(f.io, [&] { return closed; }));
  ASSERT_EQ(f.events->Count(LinkEvent::kUp), 1u);
  ASSERT_EQ(f.events->Count(LinkEvent::kDown), 1u);
  EXPECT_NE(f.events->Last(LinkEvent::kDown)->detail.find("peer silent"), std::string::npos)
      << f.events->Last(LinkEvent::kDown)->detail;
  f.server->Stop();
}

// --- a peer that stops reading ---------------------------------------------

struct FloodLog {
  size_t sent = 0;
  size_t retry_later = 0;
  std::optional<Status> end;
};

asio::awaitable<void> Flood(std::shared_ptr<Link> link, std::shared_ptr<FloodLog> log) {
  for (;;) {
    capnp::MallocMessageBuilder builder;
    BuildTextMessage(builder, 256 << 10, 'f');
    Status s = co_await link->Send(builder);
    if (s.code() == StatusCode::kRetryLater) {
      ++log->retry_later;
      co_await link->WaitForSendSpace();
      continue;
    }
    if (!s.ok()) {
      log->end = s;
      co_return;
    }
    ++log->sent;
  }
}

// Keeps the silence clock happy (pings) but never reads a byte.
asio::awaitable<void> PingWithoutReading(RawClient& client) {
  asio::steady_timer timer(client.socket.get_executor());
  for (;;) {
    bool ok = co_await RawSendApp(client, PingMessage(1));
    if (!ok) co_return;
    timer.expires_after(std::chrono::milliseconds(300));
    co_await timer.async_wait(use_awaitable);
  }
}

asio::awaitable<void> ConnectAndStopReading(RawClient& client, const TestNode& node,
                                            uint16_t port) {
  co_await RawConnect(client, port);
  const RawClientOptions options;
  co_await RawInitiatorHandshake(client, node, options);
  if (client.handshake_ok) co_await PingWithoutReading(client);
}

// G sends a small message every 50 ms while it has a link.
asio::awaitable<void> Chatter(std::shared_ptr<Link> link) {
  asio::steady_timer timer(link->get_executor());
  while (link->is_open()) {
    capnp::MallocMessageBuilder builder;
    BuildTextMessage(builder, 100, 'g');
    Status s = co_await link->Send(builder);
    if (!s.ok()) co_return;
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::as_tuple(use_awaitable));
  }
}

TEST(HostilePeer, APeerThatStopsReadingIsCutOffWhileOthersAreServed) {
  Fixture f;
  auto flood = std::make_shared<FloodLog>();
  auto hostile_link = std::make_shared<std::shared_ptr<Link>>();
  // Messages from G that S received while the hostile link was open and
  // its send queue was full.
  auto served_while_stuck = std::make_shared<size_t>(0);
  auto sessions = f.sessions;
  SessionRunner recorder = RecordingRunner(sessions);
  SessionRunner runner = [=](std::shared_ptr<Link> link) -> asio::awaitable<void> {
    if (link->peer().name == "HOSTILE") {
      *hostile_link = link;
      return Flood(link, flood);
    }
    return recorder(link);
  };
  f.Start(HostileOptions(), runner);

  RawClient hostile(f.io);
  asio::co_spawn(f.io, ConnectAndStopReading(hostile, f.h, f.port()), [](std::exception_ptr) {});

  // The well-behaved peer: a real LinkManager that dials S and chatters.
  auto g_events = std::make_shared<EventLog>();
  LinkOptions g_options = HostileOptions();
  g_options.listen.reset();
  SessionRunner g_runner = [](std::shared_ptr<Link> link) { return Chatter(link); };
  LinkManager good(f.io, *f.g.identity, *f.g.link_key, g_options, g_runner, Recorder(g_events));
  ASSERT_TRUE(good.Start({IdentityOf(f.s, f.port())}).ok());

  size_t last_seen = 0;
  ASSERT_TRUE(RunUntil(f.io, [&] {
    if (f.sessions->received.size() > last_seen) {
      if (*hostile_link && (*hostile_link)->is_open() && flood->retry_later > 0) {
        *served_while_stuck += f.sessions->received.size() - last_seen;
      }
      last_seen = f.sessions->received.size();
    }
    return flood->end.has_value();
  }, std::chrono::seconds(30)));
  EXPECT_GT(flood->retry_later, 0u);
  EXPECT_GT(flood->sent, 0u);
  EXPECT_EQ(flood->end->code(), StatusCode::kUnavailable);
  ASSERT_NE(f.events->Last(LinkEvent::kDown), nullptr);
  EXPECT_EQ(f.events->Last(LinkEvent::kDown)->peer_name, "HOSTILE");
  EXPECT_NE(f.events->Last(LinkEvent::kDown)->detail.find("peer not reading"), std::string::npos)
      << f.events->Last(LinkEvent::kDown)->detail;
  // The send queue stayed bounded: at most the limit plus one message.
  EXPECT_LE((*hostile_link)->send_queue_bytes(), HostileOptions().max_send_queue_bytes + (300 << 10));
  EXPECT_GT(*served_while_stuck, 5u);
  // G is still linked and still being served.
  const size_t before = f.sessions->received.size();
  ASSERT_TRUE(RunUntil(f.io, [&] { return f.sessions->received.size() > before + 3; }));
  EXPECT_NE(good.LinkTo("CERT-S"), nullptr);
  EXPECT_EQ(g_events->Count(LinkEvent::kDown), 0u);
  good.Stop();
  f.server->Stop();
  boost::system::error_code ignored;
  hostile.socket.close(ignored);
  RunFor(f.io, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace caravan::daemon::link
