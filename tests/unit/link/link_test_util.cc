#include "tests/unit/link/link_test_util.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/serialize.h>

#include <exception>
#include <stdexcept>

#include "daemon/link/frame_codec.h"
#include "protocol/peer.capnp.h"

namespace caravan::daemon::link::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::use_awaitable;

namespace {

void Rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

asio::awaitable<Result<std::vector<capnp::word>>> NextMessage(std::shared_ptr<Link> link) {
  auto r = co_await link->Receive();
  co_return r;
}

asio::awaitable<void> RecordSession(std::shared_ptr<SessionLog> log, std::shared_ptr<Link> link) {
  log->links.push_back(link);
  for (;;) {
    Result<std::vector<capnp::word>> message = co_await NextMessage(link);
    if (!message.ok()) {
      log->ends.push_back(message.status());
      co_return;
    }
    log->received.push_back(std::move(message).value());
  }
}

asio::awaitable<void> SendText(std::shared_ptr<Link> link, size_t size, char seed,
                               std::shared_ptr<std::optional<Status>> status) {
  capnp::MallocMessageBuilder builder;
  BuildTextMessage(builder, size, char(seed));
  Status s = co_await link->Send(builder);
  *status = s;
}

std::vector<uint8_t> Framed(const std::vector<uint8_t>& message) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(message.size() >> 8),
                              static_cast<uint8_t>(message.size())};
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

// Reads one 2-byte-length-prefixed message (any length); nullopt on error.
asio::awaitable<std::optional<std::vector<uint8_t>>> ReadFramed(RawClient& client,
                                                                bool log_handshake) {
  std::array<uint8_t, 2> header{};
  auto [ec, n] = co_await asio::async_read(client.socket, asio::buffer(header),
                                           asio::as_tuple(use_awaitable));
  std::optional<std::vector<uint8_t>> none;
  if (ec) co_return none;
  std::vector<uint8_t> body((size_t{header[0]} << 8) | header[1]);
  auto [ec2, n2] = co_await asio::async_read(client.socket, asio::buffer(body),
                                             asio::as_tuple(use_awaitable));
  if (ec2) co_return none;
  if (log_handshake) {
    client.wire_in.insert(client.wire_in.end(), header.begin(), header.end());
    client.wire_in.insert(client.wire_in.end(), body.begin(), body.end());
  }
  std::optional<std::vector<uint8_t>> result(std::move(body));
  co_return result;
}

asio::awaitable<bool> WriteRaw(RawClient& client, std::vector<uint8_t> bytes) {
  auto [ec, n] = co_await asio::async_write(client.socket, asio::buffer(bytes),
                                            asio::as_tuple(use_awaitable));
  co_return !ec;
}

}  // namespace

TestNode MakeNode(std::string name, std::string country) {
  TestNode node;
  node.name = std::move(name);
  node.country = std::move(country);
  node.identity = crypto::IdentityKey::Generate();
  node.link_key = crypto::LinkKey::Generate();
  return node;
}

PeerIdentity IdentityOf(const TestNode& node, std::optional<uint16_t> port) {
  PeerIdentity id;
  id.name = node.name;
  id.country = node.country;
  id.key = node.identity->public_key();
  if (port) id.endpoint = protocol::HostPort{"127.0.0.1", *port};
  return id;
}

LinkOptions FastOptions() {
  LinkOptions options;
  options.listen = protocol::HostPort{"127.0.0.1", 0};
  options.keepalive = std::chrono::seconds(1);
  options.handshake_timeout = std::chrono::seconds(2);
  options.backoff_initial = std::chrono::seconds(1);
  options.backoff_max = std::chrono::seconds(2);
  options.idle_timeout = std::chrono::seconds(3);
  // Also how long a dialer waits for the responder's first message before
  // it counts a silent link as up (the recording runners say nothing).
  options.first_message_timeout = std::chrono::seconds(1);
  options.max_message_bytes = 4 << 20;
  options.max_send_queue_bytes = 8 << 20;
  return options;
}

bool RunUntil(asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    if (io.stopped()) io.restart();
    if (io.run_one_for(std::chrono::milliseconds(20)) == 0 && io.stopped()) {
      // Nothing at all left to run: only the clock can change done().
      io.restart();
    }
  }
  return true;
}

void RunFor(asio::io_context& io, std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  (void)RunUntil(io, [&] { return std::chrono::steady_clock::now() >= end; },
                 duration + std::chrono::seconds(1));
}

SessionRunner RecordingRunner(std::shared_ptr<SessionLog> log) {
  return [log](std::shared_ptr<Link> link) { return RecordSession(log, std::move(link)); };
}

size_t EventLog::Count(LinkEvent::Kind kind) const {
  size_t n = 0;
  for (const auto& e : events) n += e.kind == kind;
  return n;
}

const LinkEvent* EventLog::Last(LinkEvent::Kind kind) const {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->kind == kind) return &*it;
  }
  return nullptr;
}

std::function<void(const LinkEvent&)> Recorder(std::shared_ptr<EventLog> log) {
  return [log](const LinkEvent& e) { log->events.push_back(e); };
}

void BuildTextMessage(capnp::MessageBuilder& builder, size_t size, char seed) {
  auto error = builder.initRoot<protocol::wire::PeerMessage>().initError();
  error.setCode(static_cast<uint16_t>(seed));
  auto text = error.initMessage(static_cast<unsigned>(size));
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (seed + i) % 26);
}

bool IsTextMessage(const std::vector<capnp::word>& words, size_t size, char seed) {
  capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words.data(), words.size()),
                                       PeerReaderOptions(64 << 20));
  auto root = reader.getRoot<protocol::wire::PeerMessage>();
  if (!root.isError()) return false;
  auto error = root.getError();
  if (error.getCode() != static_cast<uint16_t>(seed)) return false;
  auto text = error.getMessage();
  if (text.size() != size) return false;
  for (size_t i = 0; i < size; ++i) {
    if (text[i] != static_cast<char>('a' + (seed + i) % 26)) return false;
  }
  return true;
}

void SpawnSend(const std::shared_ptr<Link>& link, size_t size, char seed,
               std::shared_ptr<std::optional<Status>> status) {
  asio::co_spawn(link->get_executor(), SendText(link, size, seed, status), Rethrow);
}

asio::awaitable<void> RawConnect(RawClient& client, uint16_t port) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  auto [ec] = co_await client.socket.async_connect(endpoint, asio::as_tuple(use_awaitable));
  if (ec) throw std::runtime_error("raw connect failed: " + ec.message());
}

asio::awaitable<void> RawInitiatorHandshake(RawClient& client, const TestNode& node,
                                            const RawClientOptions& options) {
  crypto::NoiseConfig config;
  config.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
  config.initiator = true;
  config.prologue = options.prologue;
  if (config.prologue.empty()) {
    const std::string real = "caravan/1";
    config.prologue.assign(real.begin(), real.end());
  }
  config.local_static = node.link_key.get();
  auto hs = crypto::HandshakeState::Create(std::move(config));
  auto m1 = hs->WriteMessage({});
  std::vector<uint8_t> f1 = Framed(*m1);
  client.wire_out.insert(client.wire_out.end(), f1.begin(), f1.end());
  if (!co_await WriteRaw(client, f1)) co_return;
  auto m2 = co_await ReadFramed(client, true);
  if (!m2) co_return;
  auto payload = hs->ReadMessage(*m2);
  if (!payload) co_return;
  client.responder_identity = crypto::VerifyHandshakePayload(*payload, *hs->remote_static());
  const crypto::HandshakePayload own =
      options.payload_override
          ? *options.payload_override
          : crypto::BuildHandshakePayload(*node.identity, node.link_key->public_key());
  auto m3 = hs->WriteMessage(own);
  std::vector<uint8_t> f3 = Framed(*m3);
  client.wire_out.insert(client.wire_out.end(), f3.begin(), f3.end());
  if (!co_await WriteRaw(client, f3)) co_return;
  client.transport = hs->SplitTransport();
  client.handshake_ok = true;
}

asio::awaitable<bool> RawSendTransport(RawClient& client, std::vector<uint8_t> plaintext) {
  auto ciphertext = client.transport.send.Encrypt(plaintext);
  if (!ciphertext) co_return false;
  bool ok = co_await WriteRaw(client, Framed(*ciphertext));
  co_return ok;
}

asio::awaitable<bool> RawSendApp(RawClient& client, std::vector<uint8_t> message) {
  for (auto& chunk : SplitAppMessage(message)) {
    bool ok = co_await RawSendTransport(client, std::move(chunk));
    if (!ok) co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<std::vector<uint8_t>>> RawReadTransport(RawClient& client) {
  auto frame = co_await ReadFramed(client, false);
  std::optional<std::vector<uint8_t>> none;
  if (!frame) co_return none;
  auto plain = client.transport.receive.Decrypt(*frame);
  co_return plain;
}

asio::awaitable<bool> RawReadUntilClosed(RawClient& client) {
  std::array<uint8_t, 4096> buffer{};
  for (;;) {
    auto [ec, n] = co_await client.socket.async_read_some(asio::buffer(buffer),
                                                          asio::as_tuple(use_awaitable));
    if (ec) co_return true;
  }
}

}  // namespace caravan::daemon::link::testing
