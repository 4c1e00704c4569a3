#pragma once
// LinkManager: all of this node's links to its roster members. It listens
// (if configured), dials every member that has an endpoint (exponential
// backoff with jitter, reset after a successful link), runs the handshake
// (daemon/link/handshake.h) on every connection, keeps exactly one link per
// member and starts the SessionRunner (the sync layer) on each new link.
//
// One link per pair: when two links to the same member are up at once (both
// sides dialed), each side keeps the one whose initiator has the
// lexicographically smaller identity key and closes the other
// (kDuplicateClosed); both sides decide the same. A new link with the same
// initiator as the live one replaces it: an initiator only dials when it has
// lost its link, so the old one is dead even if we have not noticed yet.
//
// Isolation: every connection, handshake, link and session runs in its own
// coroutines with its own timeouts, so a stalled or hostile peer holds up
// nothing but itself. Inbound handshakes in progress are capped and shared
// fairly per source address, with slots kept for known addresses
// (daemon/link/handshake_slots.h); a connection must send its first
// handshake message within options.first_message_timeout. Failed and
// refused handshakes are logged and emitted for the first of each source
// and interval, then summarised (kHandshakeFailures), so a flood grows
// neither the log nor the audit without bound.
//
// Ownership: the manager borrows `io`, `identity` and `link_key`, which must
// outlive it; its state is shared with its coroutines, so destroying it is
// safe at any time (the destructor calls Stop()).
// Thread-safety: none; call everything on the thread that runs `io`
// (`io` must be single-threaded).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/link/link.h"
#include "daemon/link/handshake.h"
#include "daemon/link/link_credential.h"
#include "protocol/status.h"

namespace caravan::daemon::link {

// Runs the application protocol on one link; returns when done. The link is
// closed afterwards (if the runner did not close it).
using SessionRunner = std::function<boost::asio::awaitable<void>(std::shared_ptr<Link>)>;

class LinkManager {
 public:
  LinkManager(boost::asio::io_context& io, const crypto::IdentityKey& identity,
              LinkCredential link_key, LinkOptions options, SessionRunner runner,
              std::function<void(const LinkEvent&)> on_event);
  // A link key never rotated (serial 0), borrowed: it must outlive the
  // manager.
  LinkManager(boost::asio::io_context& io, const crypto::IdentityKey& identity,
              const crypto::LinkKey& link_key, LinkOptions options, SessionRunner runner,
              std::function<void(const LinkEvent&)> on_event);
  ~LinkManager();
  LinkManager(const LinkManager&) = delete;
  LinkManager& operator=(const LinkManager&) = delete;

  // Listens on options.listen (if set) and starts a dialer for every member
  // with an endpoint. Fails with kUnavailable naming the address if it
  // cannot listen, kInvalidInput if called twice; nothing is dialed then.
  Status Start(const std::vector<PeerIdentity>& roster);

  // Applies a new roster: new members are dialed (if they have an
  // endpoint), removed members' links closed and their dialers stopped, a
  // changed endpoint is dialed from now on. Members are matched by key.
  void UpdateRoster(const std::vector<PeerIdentity>& roster);

  // Closes the listener, every link (Bye best effort) and every handshake in
  // progress, and stops the dialers. Idempotent; Start cannot follow.
  void Stop();

  struct LinkStatus {
    std::string state;  // "up", "connecting", "backoff 12s", "down"
    int64_t last_contact = 0;  // unix seconds of the last bytes received; 0 never
    uint64_t bytes_sent = 0;   // over all links to this member since Start
    uint64_t bytes_received = 0;
    // Application message bytes over the same links, as Cap'n Proto and as
    // carried after compression (Link::app_bytes_*; docs/wire.md 4.3).
    uint64_t app_sent_plain = 0;
    uint64_t app_sent_carried = 0;
    uint64_t app_received_plain = 0;
    uint64_t app_received_carried = 0;
    void AddAppBytes(const Link& link) {
      app_sent_plain += link.app_bytes_sent_plain();
      app_sent_carried += link.app_bytes_sent_carried();
      app_received_plain += link.app_bytes_received_plain();
      app_received_carried += link.app_bytes_received_carried();
    }
  };
  // Every roster member, by name.
  std::map<std::string, LinkStatus> LinkStates() const;

  // The live link to the member named `name`, or nullptr.
  std::shared_ptr<Link> LinkTo(const std::string& name) const;

  // Ends every dialer's backoff wait: members that are down are dialed now.
  void WakeAll();

  // Roster refusals (docs/wire.md 4.4): a member that told us (after
  // authentication) that we are not on its roster is redialed with a
  // backoff of its own, from backoff_initial doubling to
  // options.refused_backoff_max. Something here that could change its
  // answer (a roster change, a policy reload, a link key rotation) starts
  // that backoff again and redials the refused members now. UpdateRoster
  // and RotateLinkKey call it themselves.
  void RetryRefused();
  // Refusals since Start by reason: received as a dialer, sent as a
  // listener (caravan_link_roster_refusals_total).
  std::map<std::string, uint64_t> RefusalsReceived() const;
  std::map<std::string, uint64_t> RefusalsSent() const;

  // Link key rotation (docs/federation.md, Link key rotation): handshakes
  // from now on use `next`, every live link is closed ("link key rotated")
  // and every dialer woken, so links come back at once under the new key.
  // `next.serial` must be above the current one (else kInvalidInput and
  // nothing changes).
  Status RotateLinkKey(LinkCredential next);
  const LinkCredential& link_credential() const;

  // The highest link certificate serial seen per member identity: a
  // handshake whose certificate has a lower serial is refused (reason
  // retired_link_key): that member's link key was rotated away.
  // `known` seeds the table (from the store); `on_raised` is called on the
  // io thread whenever a member's highest serial goes up.
  void SetLinkSerials(std::map<protocol::PublicKey, uint64_t> known,
                      std::function<void(const std::string& name, const protocol::PublicKey&,
                                         uint64_t serial, int64_t not_before)>
                          on_raised);

  // Identity key rotation (docs/wire.md, "Rotation chain"): the statements
  // this node appends to its handshake payload, and how a peer presenting
  // a key the roster does not pin yet, with a chain, is matched to its
  // member (daemon/link/handshake.h, HandshakeChain). Call before Start.
  void SetIdentityChain(HandshakeChain chain);

  // Pre-authentication failures on the link (failed or refused handshakes,
  // both directions) since Start, by reason (every kPreauthReasons entry).
  std::map<std::string, uint64_t> PreauthFailures() const;
  // Inbound handshakes in progress now.
  size_t handshakes_in_progress() const;

  // The TCP port the listener is bound to (0 if not listening); with port 0
  // in options.listen this is the ephemeral port chosen.
  uint16_t listen_port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace caravan::daemon::link
