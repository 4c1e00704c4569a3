#pragma once
// Node: one running caravand. Owns the parts main() wires together (keys,
// store, policy, submitter, control server, worker pool) and the periodic
// chores (watchdog, retention sweep). main() builds it from a loaded config,
// starts it, and stops it on SIGTERM.
//
// Threading: the io_context given to Open runs the control server and
// timers; blocking work goes to the node's worker pool (Offload).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/identity_rotation.h"
#include "crypto/link_key.h"
#include "daemon/control/control_server.h"
#include "daemon/feeds/feeds.h"
#include "daemon/feeds/metrics_server.h"
#include "daemon/link/link_manager.h"
#include "daemon/node/counts_cache.h"
#include "daemon/node/policy_state.h"
#include "daemon/node/submitter.h"
#include "daemon/node/warninglist_state.h"
#include "daemon/observe/metrics.h"
#include "daemon/store/identity_rotation_row.h"
#include "daemon/store/reader.h"
#include "daemon/store/reader_pool.h"
#include "daemon/store/store.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/sync_engine.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"

namespace caravan::daemon {

class ControlDispatcher;

// How long a node that rotated its identity key keeps running before its
// in-process reload (identity_rotate.cc): the CLI's reply is written and
// the statement leaves on the live links first.
inline constexpr std::chrono::milliseconds kIdentityReloadDelay{300};

// <identity>.next: the new key between writing it and the store's commit;
// <identity>.retired-<unix seconds>: the key a rotation retired.
std::filesystem::path NextIdentityKeyPath(const std::filesystem::path& identity);
std::filesystem::path RetiredIdentityKeyPath(const std::filesystem::path& identity,
                                             int64_t rotated_at);
// At start, with the rotations the store holds: finishes a rotation a crash
// interrupted (the store has K -> .next: .next becomes the key), removes a
// .next left by one that never committed, and refuses a key the store says
// was rotated away (kInvalidInput naming the file and the fix).
Status FinishIdentityRotation(const std::filesystem::path& identity_path,
                              const std::vector<store::IdentityRotationRow>& rows,
                              std::unique_ptr<crypto::IdentityKey>& identity);

class Node {
 public:
  // Loads keys (refusing world-readable key files), opens (and migrates)
  // the store, loads the policy set. Any failure is a configuration problem
  // the operator must fix: the message names the file.
  static Result<std::unique_ptr<Node>> Open(protocol::NodeConfig config,
                                            boost::asio::io_context& io);
  ~Node();

  // Opens the control socket and starts the periodic chores.
  Status Start();
  // Stops accepting work, finishes what is in flight, closes the store.
  void Stop();

  // Re-reads policies (and the roster). Logs and audits the outcome; a
  // broken set leaves the running one in place.
  Status ReloadPolicies(const std::string& actor);

  // Re-reads roster.toml and tells the links (new members dialed, removed
  // ones dropped). A broken file keeps the running roster.
  Status ReloadRoster();
  // Reads the compromised keys from the store (member_compromise.cc) and
  // reloads the roster, so links with them end and are refused.
  Status RefuseCompromisedKeys();
  std::shared_ptr<const sync::RosterIndex> roster() const;

  // New local records were committed: peers' sessions look again.
  void NotifyCommitted();

  // Link state per peer name ("up", "down", ...), safe from any thread.
  std::map<std::string, std::string> LinkStates() const;

  // What `caravan status` tells of each peer's link since this start:
  // when it last came up and the last thing that went wrong (a handshake
  // failure, a refusal, a protocol violation, a link going down).
  struct LinkHealth {
    int64_t up_since = 0;       // unix seconds of the last handshake; 0 none
    std::string last_error;     // "down: <why>"; empty: none yet
    int64_t last_error_at = 0;  // unix seconds; 0 with no error
    // An open roster refusal episode (docs/wire.md 4.4): the member told
    // us, authenticated, that we are not on its roster. Empty reason: none.
    std::string refusal_reason;
    int64_t refused_since = 0;   // unix seconds of the episode's first
    uint64_t refused_count = 0;  // refusals in the episode so far
  };
  // By peer name, safe from any thread.
  std::map<std::string, LinkHealth> LinkHealthByPeer() const;
  // Forward secrecy: each member's prekey as we know it, and whether our
  // sealed batches to it wait for one (docs/federation.md "Prekeys").
  std::map<protocol::PublicKey, sync::SyncEngine::PrekeyView> PrekeyViews()
      const;
  // Hub accountability: recent delays of sealed envelopes by (hub, sender)
  // (daemon/sync/hub_delay.h).
  std::map<std::pair<std::string, std::string>, sync::HubDelayBook::View>
  HubDelayViews() const;

  // Replaces this node's link key with a new one certified by the identity
  // key (docs/federation.md, Link key rotation): writes keys.link, switches
  // the link manager to it (every link re-handshakes under the new key),
  // audits `actor` and counts it. `scheduled`: [keys] link_rotate did it.
  // Call off the io thread (it writes the key file and waits for the
  // audit). The JSON `caravan key rotate --link` prints.
  Result<std::string> RotateLinkKey(const std::string& actor, bool scheduled);

  // Rotates this node's own identity key (identity_rotate.cc): a new key,
  // the statement signed by both stored and audited (`identity-key-rotate`,
  // `actor`), the key files replaced (the old one kept as a retired file),
  // the statement sent on every live link, then a clean in-process reload
  // under the new key (reload_requested; main() opens a new Node). Call on
  // the pool. The JSON `caravan key rotate` prints.
  Result<std::string> RotateIdentityKey(const std::string& actor);
  // True once the node asked main() to reload it (its io_context stopped).
  bool reload_requested() const { return reload_requested_.load(); }
  // This node's identity keys, current first, then those it rotated away
  // from (newest first). Fixed for a Node's life: a rotation reloads it.
  const std::vector<protocol::PublicKey>& own_keys() const { return own_keys_; }
  // Whether `key` is one of own_keys() (records we made under any of them).
  bool IsOwnKey(const protocol::PublicKey& key) const;

  // Identity key rotation of a member (identity_rotation_accept.cc): a
  // statement that arrived from peer `via` is checked and, if good,
  // stored, applied to the roster, audited and relayed to the other peers;
  // a refusal is audited with its reason and logged. Call on the pool.
  void OnIdentityRotation(std::vector<uint8_t> statement, std::string via);
  // The same, synchronously (on the pool): Ok when taken or already held;
  // InvalidInput "<reason>: <message>" when refused.
  Status AcceptIdentityRotation(const std::vector<uint8_t>& statement, const std::string& via);
  // Counted for caravan_identity_key_rotations_total{result} (since start).
  uint64_t identity_rotations_accepted() const { return identity_rotations_accepted_.load(); }
  uint64_t identity_rotations_refused() const { return identity_rotations_refused_.load(); }

  // ---- for the control dispatcher ----
  const protocol::NodeConfig& config() const { return config_; }
  const crypto::IdentityKey& identity() const { return *identity_; }
  store::Store& store() { return *store_; }
  Submitter& submitter() { return *submitter_; }
  PolicyState& policy() { return policy_; }
  const WarninglistState& warninglists() const { return warninglists_; }
  // Sessions re-decide what they withheld (a record was --forced).
  // Compromise notices for those peers were stored
  // (sync::StorePendingNotice): live links send them now (issue 16). Any
  // thread.
  void NoticesQueued(std::vector<std::string> peers) {
    if (sync_) sync_->NoticesQueued(std::move(peers));
  }
  void RerunWithheld() {
    if (sync_) sync_->RerunWithheld();
  }
  // Counters and histograms for /metrics (docs/metrics.md); any thread.
  Metrics& metrics() { return metrics_; }
  boost::asio::thread_pool& pool() { return pool_; }
  int64_t started_at() const { return started_at_; }

  // Runs `fn` with a Reader of this thread's own (call on the pool only).
  template <typename F>
  auto WithReader(F fn) {
    return readers_->With(std::move(fn));
  }
  // The store's counts for status and metrics through `reader` (a pool
  // thread's): counted again only when the store changed, on a large
  // store at most so often (CountsCache); the log position read now.
  Result<store::Counts> StoreCounts(store::Reader& reader);

 private:
  Node(protocol::NodeConfig config, boost::asio::io_context& io);
  void ScheduleWatchdog();
  void ScheduleRetentionSweep();
  void ScheduleLinkRotation();
  // identity_chain.cc: the rotation statements this node appends to its
  // handshake payload, and the member a peer's chain leads to (io thread).
  std::vector<uint8_t> OwnHandshakeChain() const;
  std::optional<link::PeerIdentity> MemberByChain(
      const protocol::PublicKey& presented,
      const std::vector<crypto::RotationStatement>& chain) const;
  void OnPeerLinkSerial(const std::string& name, const protocol::PublicKey& key,
                        uint64_t serial, int64_t not_before);
  void SweepRetention();
  void OnLinkEvent(const link::LinkEvent& event);
  // The /metrics text: link states on the io thread, store reads offloaded.
  boost::asio::awaitable<std::string> ScrapeMetrics();
  std::vector<link::PeerIdentity> RosterPeers() const;

  protocol::NodeConfig config_;
  boost::asio::io_context& io_;
  Metrics metrics_;  // before everything that counts into it
  boost::asio::thread_pool pool_;
  std::unique_ptr<crypto::IdentityKey> identity_;
  // This node's link key with its certificate serial; guarded by
  // link_key_mu_ (the link manager has its own copy, on the io thread).
  std::mutex link_key_mu_;
  link::LinkCredential link_key_;
  bool link_key_created_ = false;  // made at Open: keys.link was missing
  std::atomic<uint64_t> link_rotations_operator_{0};
  std::atomic<uint64_t> link_rotations_schedule_{0};
  // Identity key rotations of members: one checked at a time.
  std::mutex rotation_mu_;
  std::atomic<uint64_t> identity_rotations_accepted_{0};
  std::atomic<uint64_t> identity_rotations_refused_{0};
  std::vector<protocol::PublicKey> own_keys_;  // set by Open
  std::atomic<bool> reload_requested_{false};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ReaderPool> readers_;  // of store_
  CountsCache counts_cache_;
  PolicyState policy_;
  WarninglistState warninglists_;
  std::unique_ptr<Submitter> submitter_;
  std::unique_ptr<ControlDispatcher> dispatcher_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<sync::SyncEngine> sync_;
  std::unique_ptr<link::LinkManager> links_;
  std::unique_ptr<feeds::Feeds> feeds_;  // TAXII server, blocklist feeds
  std::unique_ptr<feeds::MetricsServer> metrics_server_;  // [metrics] listen
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer retention_timer_;
  boost::asio::steady_timer link_rotate_timer_;
  boost::asio::steady_timer reload_timer_;  // identity rotation's reload
  int64_t started_at_ = 0;

  mutable std::mutex roster_mu_;
  std::shared_ptr<const sync::RosterIndex> roster_;  // guarded by roster_mu_
  std::map<std::string, std::string> link_states_;   // guarded by roster_mu_
  std::map<std::string, LinkHealth> link_health_;    // guarded by roster_mu_
  // Identity keys declared compromised (issue 16): no link with them, even
  // while their member is on the roster. Guarded by roster_mu_.
  std::set<protocol::PublicKey> refused_keys_;
};

}  // namespace caravan::daemon
