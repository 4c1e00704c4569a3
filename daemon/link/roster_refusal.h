#pragma once
// The responder's side of a roster refusal (docs/wire.md 4.4): after a
// handshake whose initiator proved an identity that is not on our roster,
// one refusal (a PeerError of code kPeerErrorNotOnRoster) goes out under the handshake's transport keys, so the
// initiator (which pinned our key) can trust it, and the connection
// closes. Nothing the initiator sends is read as a message: what arrives
// before its close is dropped unread, bounded in bytes and time, only so
// that our close does not reset the connection before the refusal is read.
//
// Thread-safety: runs on the socket's executor; the socket and transport
// are borrowed for the call.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <string_view>

#include "crypto/noise.h"

namespace caravan::daemon::link {

// At most this much of what the refused initiator sends is read (and
// dropped) while we wait for its close.
inline constexpr size_t kRefusalDrainBytes = 64 * 1024;

// Sends the refusal, shuts our direction, drains at most
// kRefusalDrainBytes for at most `linger`, and closes the socket. True
// when the refusal was written (it may still be lost with the connection).
boost::asio::awaitable<bool> SendRefusalAndClose(boost::asio::ip::tcp::socket& socket,
                                                 crypto::NoiseTransport& transport,
                                                 std::string_view text,
                                                 std::chrono::milliseconds linger);

}  // namespace caravan::daemon::link
