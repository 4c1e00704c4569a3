#pragma once
// The caravan link handshake on a connected TCP socket (docs/wire.md):
// Noise_XX_25519_ChaChaPoly_BLAKE2b, prologue "caravan/1", every handshake
// message preceded by its 2-byte big-endian length and checked against the
// exact length XX gives it; message 1 has an empty payload, messages 2 and 3
// carry the sender's identity payload (crypto/link_certificate.h): 96 bytes
// for a link key never rotated (serial 0), 112 for a rotated one, followed
// by up to four 209-byte identity rotation statements once the sender has
// rotated its identity key (crypto/handshake_chain.h).
//
// The whole handshake is bounded by `timeout`; a responder may also bound
// the wait for message 1 (`first_message_timeout`), so a connection that
// sends nothing gives up its slot in a second or two, not after `timeout`. Nothing but handshake bytes is
// ever read or written here, so a failure closes the connection before any
// application data.
//
// Thread-safety: runs on the socket's executor; the socket is borrowed for
// the call.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "crypto/identity_key.h"
#include "crypto/identity_rotation.h"
#include "crypto/link_key.h"
#include "crypto/noise.h"
#include "daemon/link/link.h"
#include "daemon/link/link_credential.h"
#include "protocol/status.h"

namespace caravan::daemon::link {

inline constexpr char kProtocolName[] = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
inline constexpr char kPrologue[] = "caravan/1";  // 9 bytes, no NUL on the wire
// Exact handshake message lengths (without the 2-byte prefix):
// msg 1: e; msg 2: e, enc(s), enc(payload); msg 3: enc(s), enc(payload).
inline constexpr size_t kHandshake1Bytes = 32;
inline constexpr size_t kHandshake2Bytes = 32 + 48 + 96 + 16;
inline constexpr size_t kHandshake3Bytes = 48 + 96 + 16;
// The same with the 112-byte payload of a rotated link key (serial >= 1).
inline constexpr size_t kHandshake2RotatedBytes = 32 + 48 + 112 + 16;
inline constexpr size_t kHandshake3RotatedBytes = 48 + 112 + 16;

// The NoiseConfig both sides use (the local static key is borrowed).
crypto::NoiseConfig CaravanNoiseConfig(bool initiator, const crypto::LinkKey& local_static);

// Looks an identity up in the roster; nullopt when unknown.
using RosterLookup = std::function<std::optional<PeerIdentity>(const protocol::PublicKey&)>;
// Checks a roster member's link certificate serial (LinkManager: not below
// the highest seen); a refusal ends the handshake with that status and
// HandshakeOutcome::retired_key set. An initiator checks it before sending
// message 3, like the rest of the responder's identity.
using SerialCheck = std::function<Status(const PeerIdentity&, uint64_t serial)>;

// Identity key rotation in the handshake (docs/wire.md, "Rotation chain";
// crypto/handshake_chain.h). `own`: the statements this node appends to its
// certificate (empty: never rotated). `lookup`: asked when the peer's
// certificate names an identity not in the roster but carries a chain
// ending at it: the roster member the chain rotates (its key as the roster
// pins it now), or nullopt when the chain does not verify or does not start
// at a key the roster pins. Null: such a peer is unknown.
using ChainLookup = std::function<std::optional<PeerIdentity>(
    const protocol::PublicKey& presented, const std::vector<crypto::RotationStatement>& chain)>;
struct HandshakeChain {
  std::vector<uint8_t> own;
  ChainLookup lookup;
};

struct HandshakeOutcome {
  // Ok, or why not: kDenied when the peer's identity is not in the roster
  // (or not the member we dialed), kCorrupt when a message or the link
  // certificate is bad, kUnavailable when the connection failed or timed out.
  Status status;
  PeerIdentity peer;               // set when ok
  crypto::NoiseTransport transport;  // set when ok
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // A deadline ended it (status is then kUnavailable).
  bool timed_out = false;
  // The peer's link certificate (set when ok): its serial and not-before;
  // the caller compares the serial with the highest seen for the peer.
  uint64_t peer_serial = 0;
  int64_t peer_not_before = 0;
  // The SerialCheck refused the peer's certificate (a retired link key);
  // `peer` is then the member it claimed to be.
  bool retired_key = false;
  // Responder only: the initiator completed the handshake with a valid
  // link certificate of an identity not on the roster (status kDenied).
  // `unknown_identity_key` is that identity and `transport` is set, so
  // the caller can send one authenticated refusal (docs/wire.md 4.4)
  // before closing; nothing from the initiator may be read.
  bool unknown_identity = false;
  protocol::PublicKey unknown_identity_key{};
  // The peer was found through its rotation chain (HandshakeChain): it
  // signed with `presented_identity`, a key the roster does not pin yet;
  // `peer` is the member as the roster has it.
  bool via_chain = false;
  protocol::PublicKey presented_identity{};
};

// Runs the handshake as initiator or responder. An initiator passes the key
// of the member it dialed in `expected_peer`: any other identity is refused.
// A responder with a non-zero `first_message_timeout` (< timeout) closes the
// connection when message 1 has not fully arrived by then.
boost::asio::awaitable<HandshakeOutcome> RunHandshake(
    boost::asio::ip::tcp::socket& socket, bool initiator, const crypto::IdentityKey& identity,
    const LinkCredential& own, const RosterLookup& lookup, const SerialCheck& check_serial,
    std::optional<protocol::PublicKey> expected_peer, std::chrono::seconds timeout,
    std::chrono::milliseconds first_message_timeout = std::chrono::milliseconds(0),
    const HandshakeChain& chain = HandshakeChain());

}  // namespace caravan::daemon::link
