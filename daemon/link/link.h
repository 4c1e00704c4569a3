#pragma once
// Link: one established, mutually authenticated, encrypted connection to a
// roster member, after the Noise handshake (docs/wire.md). It carries
// application messages (PeerMessage, protocol/peer.capnp) both ways and
// handles keepalive (ping/pong) and Bye itself.
//
// Inside, one reader coroutine, one writer coroutine (the only one that
// writes to the socket) and one watchdog run per link. Limits: a received
// message above max_message_bytes, a frame that fails to decrypt or a message
// Cap'n Proto refuses is a protocol violation and closes the link; no bytes
// from the peer for idle_timeout closes it ("peer silent"); a send queue that
// makes no progress for idle_timeout closes it ("peer not reading"). Memory
// per link is bounded by max_send_queue_bytes plus about two messages.
//
// Ownership: shared_ptr-owned (the LinkManager, the session runner and the
// link's own coroutines hold references); it owns its socket and ciphers.
// Thread-safety: none; every call happens on the io_context thread the link
// was created on.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <capnp/common.h>
#include <capnp/message.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/noise.h"
#include "daemon/link/frame_codec.h"
#include "daemon/link/link_compression.h"
#include "protocol/indicator.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::daemon::link {

// A roster member as the link layer sees it.
struct PeerIdentity {
  std::string name;       // roster name; unique
  std::string country;    // ISO 3166-1 alpha-2
  protocol::PublicKey key{};  // Ed25519 identity key; unique
  std::optional<protocol::HostPort> endpoint;  // unset: it dials us
};

struct LinkOptions {
  std::optional<protocol::HostPort> listen;  // unset: dial out only
  // This node's name and country, as a roster refusal names the refuser.
  std::string own_name;
  std::string own_country;
  std::chrono::seconds keepalive{30};        // ping when idle this long
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds backoff_initial{1};
  std::chrono::seconds backoff_max{300};
  size_t max_message_bytes = 16 << 20;       // one application message
  size_t max_send_queue_bytes = 64 << 20;    // encrypted bytes waiting to go out
  std::chrono::seconds idle_timeout{90};     // no bytes for this long = dead
  // Inbound handshakes in progress at once, and per source address
  // (daemon/link/handshake_slots.h: a quarter is kept for known addresses).
  size_t max_handshakes = 64;
  size_t max_handshakes_per_source = 4;
  // Time a new inbound connection has to send handshake message 1.
  std::chrono::seconds first_message_timeout{2};
  // Failed handshakes and refusals are logged (and emitted) at once for the
  // first of a source's window, then summarised once per this interval.
  std::chrono::seconds failure_report_interval{60};
  // A dialer told "not on my roster" (authenticated, docs/wire.md 4.4)
  // backs off from backoff_initial doubling up to this.
  std::chrono::seconds refused_backoff_max{300};
  // Offered in Hello and used once the peer's Hello offers it too
  // (docs/wire.md 4.3); kOff refuses compressed messages.
  protocol::LinkCompression compression = protocol::LinkCompression::kZstd;
  int compression_level = 1;  // zstd level of what we send
};

// Events for the audit log and metrics; delivered on the io thread.
struct LinkEvent {
  enum Kind {
    kUp,
    kDown,
    kHandshakeFailed,
    kUnknownPeer,
    kProtocolViolation,
    kDuplicateClosed,
    // The failed handshakes and refusals of one source address during one
    // failure_report_interval, after the first (which came as its own
    // kHandshakeFailed or kUnknownPeer). remote_endpoint is the address.
    kHandshakeFailures,
    // Roster refusals (docs/wire.md 4.4), summarised per episode
    // (refusal_episodes.h): the first refusal of an episode, then "still
    // refused N times since T" at most every hour and when it ends.
    // kRosterRefused: the member named peer_name told us (authenticated)
    // we are not on its roster (dialer side; the listener's first refusal
    // of an episode is a kUnknownPeer naming the key). kRosterRefusals:
    // either side's summary (the listener's: peer_name empty,
    // remote_endpoint the address).
    kRosterRefused,
    kRosterRefusals,
  } kind;
  std::string peer_name;        // empty if unknown
  std::string remote_endpoint;  // "ip:port"
  std::string detail;           // why (never key material)
  // kHandshakeFailures only: failures in the window (the first included)
  // and how many of each reason (kPreauthReasons).
  uint64_t failure_count = 0;
  std::map<std::string, uint64_t> failure_reasons{};
  // Not logged nor audited: only updates what status shows (a refusal
  // counted inside an episode that was already reported).
  bool quiet = false;
  // kRosterRefused/kRosterRefusals: the episode's reason, first refusal
  // (unix seconds) and refusals so far; `ended`: the episode is over.
  std::string refusal_reason{};
  int64_t refused_since = 0;
  uint64_t refused_count = 0;
  bool ended = false;
};

// What a peer told us when it refused the link (a PeerError of code
// kPeerErrorNotOnRoster), after the handshake: authenticated, since it
// came under the handshake's keys.
struct LinkRefusalInfo {
  std::string reason;  // "not_on_roster"
  std::string text;    // as the refuser wrote it (bounded; log escaped)
};
inline constexpr char kRefusalNotOnRoster[] = "not_on_roster";

std::string_view LinkEventKindName(LinkEvent::Kind kind);

class Link : public std::enable_shared_from_this<Link> {
 public:
  // Called once when the link closes: the reason, and whether the peer broke
  // a rule (kProtocolViolation) rather than went away.
  using ClosedCallback = std::function<void(Link&, const std::string& reason, bool violation)>;

  // Takes over a socket whose handshake completed. Call Start() next. Used by
  // LinkManager (and tests that build links by hand).
  Link(boost::asio::ip::tcp::socket socket, crypto::NoiseTransport transport,
       PeerIdentity peer, bool initiator, const LinkOptions& options,
       uint64_t handshake_bytes_sent, uint64_t handshake_bytes_received);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Spawns the reader, writer and watchdog. `on_closed` may be empty.
  void Start(ClosedCallback on_closed);

  const PeerIdentity& peer() const { return peer_; }
  bool initiator() const { return initiator_; }
  const std::string& remote_endpoint() const { return remote_endpoint_; }
  // "ip:port" of our end.
  std::string local_endpoint() const;
  // Whether small frames leave at once (TCP_NODELAY): the manager sets it on
  // every link's socket before the handshake.
  bool sends_without_delay() const;
  // The io_context executor everything of this link runs on.
  boost::asio::any_io_executor get_executor() { return socket_.get_executor(); }

  // Queues one application message (a PeerMessage); the writer sends it in
  // order. Fails with kUnavailable when the link is closed, kInvalidInput
  // when the message is above max_message_bytes (the peer would refuse it),
  // kRetryLater when max_send_queue_bytes are already queued (back off, or
  // co_await WaitForSendSpace()).
  boost::asio::awaitable<Status> Send(capnp::MessageBuilder& message);

  // Returns when the send queue has room again or the link closed.
  boost::asio::awaitable<void> WaitForSendSpace();

  // Queues a ping after everything queued so far and returns true once the
  // peer's pong for it arrived: the peer's link read every message sent
  // before it (it answers pings in the order it reads, and hands the
  // messages before it to its application in that order). False when the
  // link closed first. Used where a message needs a receipt the protocol
  // has no message for (compromise notices).
  boost::asio::awaitable<bool> RoundTrip();

  // The next application message, as words for capnp::FlatArrayMessageReader
  // (read it with PeerReaderOptions). Ping, pong and bye never come out.
  // Once the link is closed: kUnavailable naming the reason, or kCorrupt
  // ("protocol violation: ...") if the peer broke a rule.
  boost::asio::awaitable<Result<std::vector<capnp::word>>> Receive();

  // Returns once the peer's first application message has arrived (it
  // stays for Receive), the link closed, or `limit` passed, whichever
  // comes first. One waiter at a time (the dialer, before it registers the
  // link).
  boost::asio::awaitable<void> WaitForFirstMessage(std::chrono::milliseconds limit);
  bool got_first_message() const { return got_first_message_; }
  // Set when the link closed because the peer sent a roster refusal (a PeerError of code
  // kPeerErrorNotOnRoster).
  const std::optional<LinkRefusalInfo>& refusal() const { return refusal_; }

  // Sends Bye with `reason` best effort and closes. Pending outgoing
  // messages are dropped (the sync layer resends what was not
  // acknowledged). Idempotent.
  void Close(std::string reason);

  bool is_open() const { return open_; }
  const std::string& close_reason() const { return close_reason_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  // Unix seconds of the last bytes received from the peer.
  int64_t last_activity() const { return last_activity_unix_; }
  size_t send_queue_bytes() const { return queued_bytes_; }
  // Compression (docs/wire.md 4.3): what our Hello offers, and whether we
  // compress what we send (the peer's Hello offered zstd too).
  protocol::LinkCompression compression() const { return options_.compression; }
  bool compressing() const { return compressor_ != nullptr; }
  // Application messages (ping, pong and bye included) since the link came
  // up: bytes as Cap'n Proto ("plain") and as carried, after compression
  // where it applied. Length prefixes, framing and AEAD tags are in
  // bytes_sent()/bytes_received() only.
  uint64_t app_bytes_sent_plain() const { return app_sent_plain_; }
  uint64_t app_bytes_sent_carried() const { return app_sent_carried_; }
  uint64_t app_bytes_received_plain() const { return app_received_plain_; }
  uint64_t app_bytes_received_carried() const { return app_received_carried_; }

 private:
  using Clock = std::chrono::steady_clock;

  // A wake-up for coroutines waiting on a condition of this link: waiters
  // re-check their condition after every Notify (single thread, so no wake
  // is lost between check and wait).
  class Signal {
   public:
    explicit Signal(const boost::asio::any_io_executor& ex);
    boost::asio::awaitable<void> Wait();
    void Notify() { timer_.cancel(); }

   private:
    boost::asio::steady_timer timer_;
  };

  // Each takes a reference to the link so it lives while they run.
  static boost::asio::awaitable<void> ReadLoop(std::shared_ptr<Link> self);
  static boost::asio::awaitable<void> WriteLoop(std::shared_ptr<Link> self);
  static boost::asio::awaitable<void> Watchdog(std::shared_ptr<Link> self);
  // Encrypts and queues `message` (flat-array bytes), compressed first when
  // the peer accepts it and `compressible` (link_compression.h). False if
  // the cipher refuses (the link is then closed).
  bool Enqueue(std::span<const uint8_t> message, bool compressible = false);
  // Handles one reassembled message; false when the link must stop reading.
  bool Deliver(std::vector<capnp::word> words);
  // Marks the link closed (first reason wins), wakes every waiter and
  // reports to on_closed. With send_bye the writer gets a short grace period
  // to send Bye; otherwise the socket closes now.
  void Fail(std::string reason, bool violation, bool send_bye);
  // Closes the socket; the reader, writer and watchdog then end.
  void Shutdown();

  boost::asio::ip::tcp::socket socket_;
  crypto::NoiseTransport transport_;
  const PeerIdentity peer_;
  const bool initiator_;
  const LinkOptions options_;
  std::string remote_endpoint_;
  ClosedCallback on_closed_;

  bool open_ = true;
  bool violation_ = false;
  bool socket_closed_ = false;
  std::string close_reason_;
  Clock::time_point closed_at_;

  // Outgoing frames (2-byte length || ciphertext), in send order.
  std::deque<std::vector<uint8_t>> send_queue_;
  size_t queued_bytes_ = 0;
  size_t frames_in_flight_ = 0;  // front frames handed to async_write
  Signal send_ready_;   // writer waits for frames
  Signal send_space_;   // senders wait for room
  Clock::time_point last_write_progress_;
  Clock::time_point last_sent_;

  // Received application messages not yet taken by Receive().
  std::deque<std::vector<capnp::word>> inbox_;
  size_t inbox_bytes_ = 0;
  Signal inbox_ready_;  // Receive waits for messages
  Signal inbox_space_;  // reader waits for the application
  Signal pong_ready_;   // RoundTrip waits for its pong
  bool reader_waiting_on_app_ = false;

  Clock::time_point last_received_;
  Clock::time_point last_ping_;
  int64_t last_activity_unix_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t next_ping_nonce_ = 1;
  // The highest nonce the peer's pongs echoed (our nonces only grow).
  uint64_t last_pong_nonce_ = 0;

  // Set when the peer's Hello offered zstd and we offer it too.
  std::unique_ptr<MessageCompressor> compressor_;
  uint64_t app_sent_plain_ = 0;
  uint64_t app_sent_carried_ = 0;
  uint64_t app_received_plain_ = 0;
  uint64_t app_received_carried_ = 0;

  boost::asio::steady_timer watchdog_timer_;
  // WaitForFirstMessage sleeps on it; Deliver and Fail cancel it.
  boost::asio::steady_timer first_message_timer_;
  bool got_first_message_ = false;
  std::optional<LinkRefusalInfo> refusal_;
};

}  // namespace caravan::daemon::link
