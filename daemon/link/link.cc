#include "daemon/link/link.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <exception>

#include "daemon/observe/log.h"
#include "protocol/peer.capnp.h"

namespace caravan::daemon::link {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

// How long a closing link may take to send its Bye before the socket is
// closed anyway (the peer may not be reading).
constexpr auto kLinger = std::chrono::seconds(2);
// The writer hands at most this much to one async_write.
constexpr size_t kMaxWriteBatch = 256 * 1024;
// Received messages waiting for Receive(): beyond either bound the reader
// stops reading from the socket (TCP pushes back on the peer).
constexpr size_t kMaxInboxMessages = 4096;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void LogLinkCoroutineFailure(const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    LogError("link ", what, " failed: ", ex.what());
  }
}

}  // namespace

std::string_view LinkEventKindName(LinkEvent::Kind kind) {
  switch (kind) {
    case LinkEvent::kUp: return "up";
    case LinkEvent::kDown: return "down";
    case LinkEvent::kHandshakeFailed: return "handshake_failed";
    case LinkEvent::kUnknownPeer: return "unknown_peer";
    case LinkEvent::kProtocolViolation: return "protocol_violation";
    case LinkEvent::kDuplicateClosed: return "duplicate_closed";
    case LinkEvent::kHandshakeFailures: return "handshake_failures";
    case LinkEvent::kRosterRefused: return "roster_refused";
    case LinkEvent::kRosterRefusals: return "roster_refusals";
  }
  return "unknown";
}

Link::Signal::Signal(const asio::any_io_executor& ex) : timer_(ex) {
  // Never expires: only Notify (cancel) ends a wait.
  timer_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<void> Link::Signal::Wait() {
  auto [ec] = co_await timer_.async_wait(asio::as_tuple(use_awaitable));
  (void)ec;
}

Link::Link(asio::ip::tcp::socket socket, crypto::NoiseTransport transport,
           PeerIdentity peer, bool initiator, const LinkOptions& options,
           uint64_t handshake_bytes_sent, uint64_t handshake_bytes_received)
    : socket_(std::move(socket)),
      transport_(std::move(transport)),
      peer_(std::move(peer)),
      initiator_(initiator),
      options_(options),
      send_ready_(socket_.get_executor()),
      send_space_(socket_.get_executor()),
      inbox_ready_(socket_.get_executor()),
      inbox_space_(socket_.get_executor()),
      pong_ready_(socket_.get_executor()),
      bytes_sent_(handshake_bytes_sent),
      bytes_received_(handshake_bytes_received),
      watchdog_timer_(socket_.get_executor()),
      first_message_timer_(socket_.get_executor()) {
  boost::system::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_endpoint_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }
  const auto now = Clock::now();
  last_write_progress_ = last_sent_ = last_received_ = last_ping_ = now;
  last_activity_unix_ = UnixNow();
}

Link::~Link() = default;

bool Link::sends_without_delay() const {
  asio::ip::tcp::no_delay option;
  boost::system::error_code ec;
  socket_.get_option(option, ec);
  return !ec && option.value();
}

std::string Link::local_endpoint() const {
  boost::system::error_code ec;
  auto endpoint = socket_.local_endpoint(ec);
  if (ec) return "";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void Link::Start(ClosedCallback on_closed) {
  on_closed_ = std::move(on_closed);
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), ReadLoop(self),
                 [](std::exception_ptr e) { LogLinkCoroutineFailure("reader", e); });
  asio::co_spawn(socket_.get_executor(), WriteLoop(self),
                 [](std::exception_ptr e) { LogLinkCoroutineFailure("writer", e); });
  asio::co_spawn(socket_.get_executor(), Watchdog(self),
                 [](std::exception_ptr e) { LogLinkCoroutineFailure("watchdog", e); });
}

asio::awaitable<Status> Link::Send(capnp::MessageBuilder& message) {
  if (!open_) {
    co_return Unavailable("link to " + peer_.name + " is closed: " + close_reason_);
  }
  if (queued_bytes_ >= options_.max_send_queue_bytes) {
    co_return RetryLater("send queue to " + peer_.name + " is full (" +
                         std::to_string(queued_bytes_) + " bytes)");
  }
  std::vector<uint8_t> bytes = SerializeMessage(message);
  if (bytes.size() > options_.max_message_bytes) {
    co_return InvalidInput("message of " + std::to_string(bytes.size()) +
                           " bytes exceeds the link limit of " +
                           std::to_string(options_.max_message_bytes));
  }
  const bool compressible =
      IsCompressible(message.getRoot<protocol::wire::PeerMessage>().which());
  if (!Enqueue(bytes, compressible)) {
    co_return Unavailable("link to " + peer_.name + " is closed: " + close_reason_);
  }
  co_return Status::Ok();
}

asio::awaitable<void> Link::WaitForSendSpace() {
  auto self = shared_from_this();
  while (open_ && queued_bytes_ >= options_.max_send_queue_bytes) {
    co_await send_space_.Wait();
  }
}

asio::awaitable<bool> Link::RoundTrip() {
  auto self = shared_from_this();
  if (!open_) co_return false;
  const uint64_t nonce = next_ping_nonce_++;
  if (!Enqueue(PingMessage(nonce))) co_return false;
  while (open_ && last_pong_nonce_ < nonce) co_await pong_ready_.Wait();
  co_return last_pong_nonce_ >= nonce;
}

asio::awaitable<Result<std::vector<capnp::word>>> Link::Receive() {
  auto self = shared_from_this();
  for (;;) {
    if (!open_) {
      if (violation_) {
        Result<std::vector<capnp::word>> r(Corrupt("protocol violation: " + close_reason_));
        co_return r;
      }
      Result<std::vector<capnp::word>> r(
          Unavailable("link to " + peer_.name + " closed: " + close_reason_));
      co_return r;
    }
    if (!inbox_.empty()) {
      Result<std::vector<capnp::word>> r(std::move(inbox_.front()));
      inbox_.pop_front();
      inbox_bytes_ -= r->size() * sizeof(capnp::word);
      inbox_space_.Notify();
      co_return r;
    }
    co_await inbox_ready_.Wait();
  }
}

void Link::Close(std::string reason) { Fail(std::move(reason), false, true); }

bool Link::Enqueue(std::span<const uint8_t> message, bool compressible) {
  if (socket_closed_) return false;
  const bool was_empty = send_queue_.empty();
  std::optional<std::vector<uint8_t>> compressed;
  if (compressor_ && compressible && message.size() >= kMinCompressBytes) {
    compressed = compressor_->Compress(message);
  }
  app_sent_plain_ += message.size();
  app_sent_carried_ += compressed ? compressed->size() : message.size();
  const auto chunks = compressed ? SplitAppMessage(*compressed, true) : SplitAppMessage(message);
  for (const auto& chunk : chunks) {
    auto frame = SealFrame(transport_.send, chunk);
    if (!frame) {
      // Nonce exhaustion after 2^64 messages: the link must be re-established.
      Fail("send cipher exhausted", false, false);
      return false;
    }
    queued_bytes_ += frame->size();
    send_queue_.push_back(std::move(*frame));
  }
  // The stall clock starts when there is something to send, not at the last
  // write of an earlier burst.
  if (was_empty) last_write_progress_ = Clock::now();
  send_ready_.Notify();
  return true;
}

bool Link::Deliver(std::vector<capnp::word> words) {
  auto inspected = InspectPeerMessage(words, options_.max_message_bytes);
  if (!inspected.ok()) {
    Fail(inspected.status().message(), true, true);
    return false;
  }
  switch (inspected->kind) {
    case InboundMessage::kPing:
      return Enqueue(PongMessage(inspected->nonce));
    case InboundMessage::kPong:
      // Its bytes already count as activity; RoundTrip waits for it.
      last_pong_nonce_ = std::max(last_pong_nonce_, inspected->nonce);
      pong_ready_.Notify();
      return true;
    case InboundMessage::kBye:
      Fail("peer said bye: " + inspected->reason, false, false);
      return false;
    case InboundMessage::kRefused:
      // Decrypted under this link's keys: the peer we authenticated said
      // it. It reads nothing more from us, so nor do we.
      refusal_ = LinkRefusalInfo{inspected->reason, inspected->refusal_text};
      Fail("refused by the peer: " + inspected->reason, false, false);
      return false;
    case InboundMessage::kApplication:
      if (inspected->hello) {
        // Compress from now on only what the peer said it can read; it
        // sends its Hello first, so everything after it may be compressed.
        if (inspected->offers_zstd && options_.compression == protocol::LinkCompression::kZstd) {
          if (!compressor_) compressor_ = std::make_unique<MessageCompressor>(options_.compression_level);
        } else {
          compressor_.reset();
        }
      }
      inbox_bytes_ += words.size() * sizeof(capnp::word);
      inbox_.push_back(std::move(words));
      inbox_ready_.Notify();
      if (!got_first_message_) {
        got_first_message_ = true;
        first_message_timer_.cancel();
      }
      return true;
  }
  return true;
}

void Link::Fail(std::string reason, bool violation, bool send_bye) {
  if (!open_) return;
  auto self = shared_from_this();
  open_ = false;
  violation_ = violation;
  close_reason_ = std::move(reason);
  closed_at_ = Clock::now();
  // Drop what has not started going out; frames already handed to
  // async_write stay until it completes (it still reads their memory).
  while (send_queue_.size() > frames_in_flight_) {
    queued_bytes_ -= send_queue_.back().size();
    send_queue_.pop_back();
  }
  inbox_.clear();
  inbox_bytes_ = 0;
  if (send_bye && !socket_closed_) {
    auto chunks = SplitAppMessage(ByeMessage(close_reason_));
    for (const auto& chunk : chunks) {
      auto frame = SealFrame(transport_.send, chunk);
      if (!frame) break;
      queued_bytes_ += frame->size();
      send_queue_.push_back(std::move(*frame));
    }
  }
  if (send_queue_.empty()) Shutdown();
  send_ready_.Notify();
  send_space_.Notify();
  inbox_ready_.Notify();
  inbox_space_.Notify();
  pong_ready_.Notify();
  watchdog_timer_.cancel();
  first_message_timer_.cancel();
  ClosedCallback callback = std::move(on_closed_);
  on_closed_ = nullptr;
  if (callback) callback(*this, close_reason_, violation_);
}

asio::awaitable<void> Link::WaitForFirstMessage(std::chrono::milliseconds limit) {
  auto self = shared_from_this();  // alive while we wait
  if (!open_ || got_first_message_) co_return;
  first_message_timer_.expires_after(limit);
  auto [ec] = co_await first_message_timer_.async_wait(asio::as_tuple(use_awaitable));
  (void)ec;  // cancelled: the message came or the link closed
}

void Link::Shutdown() {
  if (socket_closed_) return;
  socket_closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  watchdog_timer_.cancel();
  send_ready_.Notify();
  inbox_space_.Notify();
}

asio::awaitable<void> Link::ReadLoop(std::shared_ptr<Link> self) {
  Link& link = *self;
  AppMessageAssembler assembler(link.options_.max_message_bytes,
                                link.options_.compression == protocol::LinkCompression::kZstd);
  std::array<uint8_t, kFrameLengthBytes> header{};
  std::vector<uint8_t> body;
  std::vector<uint8_t> plaintext;
  std::vector<std::vector<capnp::word>> complete;
  while (link.open_) {
    // Back-pressure: stop reading while the application is behind.
    bool waited = false;
    while (link.open_ && (link.inbox_bytes_ >= link.options_.max_message_bytes ||
                          link.inbox_.size() >= kMaxInboxMessages)) {
      link.reader_waiting_on_app_ = true;
      waited = true;
      co_await link.inbox_space_.Wait();
    }
    link.reader_waiting_on_app_ = false;
    // The silence clock restarts: we were not listening meanwhile.
    if (waited) link.last_received_ = Clock::now();
    if (!link.open_) break;

    auto [ec, n] = co_await asio::async_read(link.socket_, asio::buffer(header),
                                             asio::as_tuple(use_awaitable));
    if (ec) {
      link.Fail(ec == asio::error::eof ? "peer closed the connection"
                                       : "read failed: " + ec.message(),
                false, false);
      break;
    }
    link.bytes_received_ += n;
    auto length = ParseTransportFrameLength(header);
    if (!length.ok()) {
      link.Fail(length.status().message(), true, true);
      break;
    }
    body.resize(*length);
    auto [ec2, n2] = co_await asio::async_read(link.socket_, asio::buffer(body),
                                               asio::as_tuple(use_awaitable));
    if (ec2) {
      link.Fail(ec2 == asio::error::eof ? "peer closed the connection mid-frame"
                                        : "read failed: " + ec2.message(),
                false, false);
      break;
    }
    link.bytes_received_ += n2;
    link.last_received_ = Clock::now();
    link.last_activity_unix_ = UnixNow();
    if (!link.open_) break;
    plaintext.clear();
    if (!link.transport_.receive.DecryptWithAd({}, body, &plaintext)) {
      link.Fail("transport frame failed to decrypt", true, false);
      break;
    }
    complete.clear();
    Status appended = assembler.Append(plaintext, &complete);
    link.app_received_plain_ = assembler.plain_bytes();
    link.app_received_carried_ = assembler.carried_bytes();
    if (!appended.ok()) {
      link.Fail(appended.message(), true, true);
      break;
    }
    for (auto& message : complete) {
      if (!link.Deliver(std::move(message))) break;
    }
  }
}

asio::awaitable<void> Link::WriteLoop(std::shared_ptr<Link> self) {
  Link& link = *self;
  std::vector<asio::const_buffer> buffers;
  for (;;) {
    while (link.send_queue_.empty() && link.open_ && !link.socket_closed_) {
      co_await link.send_ready_.Wait();
    }
    if (link.socket_closed_) break;
    if (link.send_queue_.empty()) {
      // Closed and everything (the Bye included) is out.
      link.Shutdown();
      break;
    }
    buffers.clear();
    size_t total = 0;
    for (const auto& frame : link.send_queue_) {
      if (!buffers.empty() && total + frame.size() > kMaxWriteBatch) break;
      buffers.push_back(asio::buffer(frame));
      total += frame.size();
    }
    link.frames_in_flight_ = buffers.size();
    auto [ec, n] = co_await asio::async_write(link.socket_, buffers,
                                              asio::as_tuple(use_awaitable));
    for (size_t i = 0; i < link.frames_in_flight_; ++i) link.send_queue_.pop_front();
    link.frames_in_flight_ = 0;
    link.queued_bytes_ -= total;
    if (ec) {
      link.Fail("write failed: " + ec.message(), false, false);
      link.Shutdown();
      break;
    }
    link.bytes_sent_ += n;
    link.last_write_progress_ = link.last_sent_ = Clock::now();
    link.send_space_.Notify();
  }
}

asio::awaitable<void> Link::Watchdog(std::shared_ptr<Link> self) {
  Link& link = *self;
  using std::chrono::milliseconds;
  const auto shortest = std::min(link.options_.keepalive, link.options_.idle_timeout);
  const auto tick = std::clamp<milliseconds>(
      std::chrono::duration_cast<milliseconds>(shortest) / 4, milliseconds(50),
      milliseconds(1000));
  while (!link.socket_closed_) {
    link.watchdog_timer_.expires_after(tick);
    auto [ec] = co_await link.watchdog_timer_.async_wait(asio::as_tuple(use_awaitable));
    (void)ec;  // cancelled on close: the checks below notice
    if (link.socket_closed_) break;
    const auto now = Clock::now();
    if (!link.open_) {
      if (now - link.closed_at_ >= kLinger) link.Shutdown();
      continue;
    }
    if (!link.reader_waiting_on_app_ &&
        now - link.last_received_ >= link.options_.idle_timeout) {
      link.Fail("peer silent for " + std::to_string(link.options_.idle_timeout.count()) + "s",
                false, true);
      continue;
    }
    if (!link.send_queue_.empty() &&
        now - link.last_write_progress_ >= link.options_.idle_timeout) {
      link.Fail("peer not reading (" + std::to_string(link.queued_bytes_) +
                    " bytes stuck for " + std::to_string(link.options_.idle_timeout.count()) +
                    "s)",
                false, false);
      link.Shutdown();
      continue;
    }
    // Ping when either direction has been quiet: our bytes keep the peer's
    // silence clock (and NAT state) fresh, its pong keeps ours.
    if (now - link.last_ping_ >= link.options_.keepalive &&
        (now - link.last_received_ >= link.options_.keepalive ||
         now - link.last_sent_ >= link.options_.keepalive)) {
      link.last_ping_ = now;
      link.Enqueue(PingMessage(link.next_ping_nonce_++));
    }
  }
}

}  // namespace caravan::daemon::link
