#pragma once
// SyncEngine: the log-and-cursor replication of DESIGN.md (Sync) on top of
// authenticated links. One session per live link:
//  - both sides send Hello with the highest of the other's log sequence
//    numbers they committed, so a reconnect resumes exactly there and a
//    no-change reconnect exchanges nothing else;
//  - the sender walks its log from that point, decides each record for the
//    peer (outbound.h: policy, loop prevention, redaction), sends what is
//    allowed in batches and records the rest as withheld or deferred;
//  - the receiver verifies and stores (inbound.h) and acknowledges only
//    what it committed; the sender then records the deliveries and audits
//    each share with the rule that allowed it;
//  - embargoes that end and policy reloads re-run withheld records.
// Hub mode (docs/federation.md): on a link to a member that the roster
// names as `via` for others, each of those others gets a sealed
// sub-session on the same link: decided exactly as for a direct peer, but
// each batch is sealed to that member (hub_envelope.h) as the next link of
// our chain to it; the hub's acknowledgement means only "queued at the
// hub", and the deliveries are recorded on the member's own signed
// receipt (hub accountability, docs/federation.md). A node with [hub] enabled queues sealed batches
// for others and forwards them on the recipient's link (hub_relay.h).
//
// Threading: sessions are coroutines on the io_context; every store access
// and signature check is offloaded to the worker pool. Wake() and
// RerunWithheld() may be called from any thread.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/observe/metrics.h"
#include "daemon/link/link.h"
#include "daemon/policy/policy.h"
#include "daemon/store/store.h"
#include "daemon/sync/hub_delay.h"
#include "daemon/sync/hub_envelope.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/outbound_page.h"
#include "daemon/sync/compromise_notice.h"
#include "daemon/sync/notice_apply.h"
#include "daemon/sync/pending_notices.h"
#include "daemon/sync/prekey_keyring.h"
#include "daemon/sync/prekey_statement.h"
#include "daemon/sync/records_message.h"
#include "protocol/config/node_config.h"

namespace caravan::daemon::sync {

struct SealedOutcome;  // hub_relay.h

struct SyncDeps {
  boost::asio::io_context* io = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  store::Store* store = nullptr;
  const crypto::IdentityKey* identity = nullptr;
  const protocol::NodeConfig* config = nullptr;
  // The running policy set and roster (swapped on reload).
  std::function<std::shared_ptr<const policy::PolicySet>()> policy;
  std::function<std::shared_ptr<const RosterIndex>()> roster;
  // The running warninglists (received matches are flagged); may be empty.
  std::function<std::shared_ptr<const protocol::WarninglistSet>()>
      warninglists;
  // Called (on the io thread) after a session stored new records, so other
  // sessions can relay them.
  std::function<void()> on_new_records;
  // Shared, received, rejected, withheld counters; may be null.
  Metrics* metrics = nullptr;
  // An identity key rotation statement (at most 1 KiB, not yet checked)
  // arrived from peer `via` (docs/federation.md, Identity key rotation).
  // Called on the worker pool, and the session reads nothing more from
  // that peer until it returns; may be empty.
  std::function<void(std::vector<uint8_t> statement, std::string via)>
      on_identity_rotation = nullptr;
  // Called (on the worker pool) after a peer's notice quarantined a key,
  // so the node refuses links with it (issue 16). May be empty.
  std::function<void()> on_keys_compromised;
};

class SyncEngine {
 public:
  explicit SyncEngine(SyncDeps deps);
  ~SyncEngine();
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  // Runs the sync protocol on one established link until it closes.
  boost::asio::awaitable<void> RunSession(std::shared_ptr<link::Link> link);

  // New records are in the log: sessions look again. Any thread.
  void Wake();
  // The policy changed: sessions re-decide what they withheld. Any thread.
  void RerunWithheld();
  // The roster was reloaded: a link whose hub routes changed (members
  // added to or removed from `via` its peer) is closed, so it reconnects
  // with one sealed sub-session per member routed through it now. Any
  // thread.
  void RosterChanged();
  // Identity key rotation (sync_engine_rotation.cc): sends `statement` on
  // every direct link except to `except_peer` (the member it came from).
  // Any thread.
  void PublishIdentityRotation(std::vector<uint8_t> statement, std::string except_peer);
  // Forward secrecy (docs/federation.md, "Prekeys"): opens our prekey
  // keyring (DATA_DIR/prekeys), makes a prekey when none is current and
  // starts the loop that rotates every [hub] prekey_rotate, erases
  // secrets prekey_grace after expiry and publishes each new statement on
  // every link. Call once, after construction, on the thread that will
  // run the io_context (before it runs).
  Status StartPrekeys();
  // What we know of a member's prekeys, for `peers list` and `status`.
  struct PrekeyView {
    uint64_t id = 0;          // the newest valid statement we hold; 0: none
    int64_t not_after = 0;
    bool awaiting = false;    // sealed batches wait for a valid prekey
  };
  // By member key; any thread.
  std::map<protocol::PublicKey, PrekeyView> PrekeyViews() const;
  // Hub accountability: the sealed envelopes' delays through each hub
  // (hub_delay.h), by (hub name, sender name), for those with one in the
  // recent window. Any thread.
  std::map<std::pair<std::string, std::string>, HubDelayBook::View>
  HubDelayViews() const;
  // Writes every live session's unreported link bytes to the store (they
  // are otherwise flushed every few seconds and at session end). Call on
  // the io thread or after the io_context stopped (Node::Stop).
  void FlushContacts();
  // Compromise notices (issue 16, compromise_exchange.cc,
  // pending_notices.h): the caller stored notices for `peers` (roster
  // names; StorePendingNotice, committed); their live direct sessions send
  // them now, others when they next connect. Any thread.
  void NoticesQueued(std::vector<std::string> peers);
  // Our identity key was just rotated and the node reloads under the new
  // one: no stored notice leaves until then (a peer that takes the
  // rotation statement first would refuse a notice signed by the key it
  // just retired, and closes the link, dropping what it had not read).
  // The new node sends them, signed by the new key. Any thread.
  void HoldNotices() { notices_held_.store(true); }

 private:
  struct Session;
  boost::asio::awaitable<void> SendLoop(Session& s);
  boost::asio::awaitable<void> ReceiveLoop(Session& s);
  // Receive side pipeline: QueueRecords checks a Records message (worker
  // pool) and queues it, waiting while the queue is full (false: the
  // session ends); CommitLoop stores what is queued and acknowledges it.
  boost::asio::awaitable<bool> QueueRecords(
      Session& s, const std::shared_ptr<ReceivedRecords>& received);
  boost::asio::awaitable<void> CommitLoop(Session& s);
  // Records the peer's acknowledgements (deliveries, share audits) off the
  // receive loop, so a slow store write never stops us reading records.
  boost::asio::awaitable<void> AckLoop(Session& s);
  boost::asio::awaitable<Status> SendMessage(Session& s,
                                             capnp::MessageBuilder& message);
  // Hub mode hooks. Sender: sealed sub-sessions for members routed via
  // this link's peer, and one sealed batch per page. Hub: forward queued
  // envelopes to this link's peer. Both: Sealed and SealedAck messages
  // (false: end the session).
  boost::asio::awaitable<std::vector<std::shared_ptr<Session>>> OpenRelayed(
      Session& s);
  boost::asio::awaitable<bool> SendSealedPage(Session& s, uint64_t up_to,
                                              OutboundPage& page);
  // Seals `sends` (and `notices`) as the next batch of our chain to the
  // sub-session's member, keeps it in sealed_outbox and sends it; moves
  // the cursor to `up_to`. Waits while the member has no valid prekey.
  boost::asio::awaitable<bool> SealAndSend(
      Session& s, const SealedHeaderInfo& header, uint64_t up_to,
      const std::shared_ptr<
          std::vector<std::pair<uint64_t, protocol::SignedRecord>>>& sends,
      const std::shared_ptr<std::vector<SentRecord>>& sent,
      const SealedNoticeSet& notices);
  // Compromise notices for a member reached through a hub: the stored ones
  // not yet riding in an unreceipted batch go in a batch of their own
  // (no records), when due and the sealed window has room; their rows are
  // deleted on the member's receipt of it (OnReceipt), never on the hub's
  // acknowledgement.
  boost::asio::awaitable<bool> SendSealedNotices(Session& s);
  // Hub accountability (sender side): the batches a recipient has not
  // receipted come back from sealed_outbox when its sub-session opens;
  // they are sent again when the recipient asks, the hub refused one, or
  // the oldest waited [hub] resend_after; a receipt records deliveries.
  boost::asio::awaitable<bool> LoadOutbox(Session& r, uint64_t acked);
  boost::asio::awaitable<bool> ResendSealed(Session& s);
  // The recipient asks for pair seq `from`, which we sealed but no longer
  // hold: seals and sends a signed chain restart (next = our head + 1),
  // drops our outbox for it and decides everything it has not receipted
  // again (docs/federation.md "Chain restart").
  boost::asio::awaitable<bool> RestartChain(Session& s, uint64_t from);
  static bool SealedWindowFull(const Session& s);
  // A hub and a direct link at once: the live direct session with the
  // member of key `key`, if any (io thread).
  const Session* DirectSessionWith(const protocol::PublicKey& key) const;
  // A sealed sub-session whose member has a direct session with us:
  // drops the batches whose range the member committed (`acked`, its
  // direct acknowledgement), recording as delivered those it committed
  // before the direct session opened (`hello`, its Hello), deletes their
  // outbox rows, and moves the cursor to `acked` (false: a store error).
  boost::asio::awaitable<bool> SettleSealedByDirect(Session& s, uint64_t hello,
                                                    uint64_t acked);
  boost::asio::awaitable<bool> OnReceipt(Session& s,
                                         const SealedOutcome& o);
  // Measures an applied batch's or a receipt's delay through the hub
  // (the link's peer): metric, book, and a `hub_delay` audit entry when it
  // passed [hub] delay_alert (rate-limited by the book).
  boost::asio::awaitable<void> NoteHubDelay(Session& s,
                                            const SealedOutcome& o);
  boost::asio::awaitable<void> ForwardHubQueue(Session& s);
  // (Arguments by reference to the caller's named locals: g++ 12 must not
  // see class-type temporaries inside a co_await expression.)
  boost::asio::awaitable<bool> OnSealed(
      Session& s, const std::shared_ptr<std::vector<uint8_t>>& envelope,
      uint64_t hub_seq);
  boost::asio::awaitable<bool> OnSealedAck(Session& s,
                                           const protocol::PublicKey& recipient,
                                           uint64_t up_to,
                                           const std::string& refused,
                                           uint64_t hub_seq,
                                           const store::HubEnvelopeId& id);

  // Forward secrecy. The newest valid prekey statement of `member`, if
  // we hold one (io thread).
  std::optional<PrekeyStatement> SealablePrekey(
      const protocol::PublicKey& member) const;
  // A sealed sub-session has no prekey for its member: marked (and
  // audited once until one arrives).
  void NoteAwaitingPrekey(Session& s);
  // Queues `statement` to every direct session except `except` and the
  // statement's own member (io thread).
  void PublishPrekey(const PrekeyStatement& statement, const Session* except);
  boost::asio::awaitable<void> PrekeyLoop(
      std::shared_ptr<boost::asio::steady_timer> timer);
  boost::asio::awaitable<bool> SendQueuedPrekeys(Session& s);
  // Identity key rotations (sync_engine_rotation.cc): every statement held
  // queued on a new session (a member offline during a rotation learns it
  // from whoever it links to first), and the queue sent.
  void QueueHeldRotations(Session& s);
  boost::asio::awaitable<bool> SendQueuedRotations(Session& s);
  boost::asio::awaitable<void> OnPrekey(
      Session& s, const std::shared_ptr<PrekeyStatement>& statement);
  // Seals again, to the member's current prekey, the batches from pair
  // seq `from` that were sealed to another (or chained to one that was).
  boost::asio::awaitable<bool> ResealFrom(Session& s, uint64_t from);
  void UpdatePrekeyView(const protocol::PublicKey& member);
  // Compromise notices (compromise_exchange.cc): sends the stored notices
  // waiting for the session's peer, when due (at the session's start and
  // after NoticesQueued named it), and deletes them once the peer's link
  // confirmed them (false: the session ends, the rows stay); checks and
  // applies a received one per [inbound] act_on_compromise_notices,
  // audited either way.
  boost::asio::awaitable<bool> SendPendingNotices(Session& s);
  // Its part that needs no session state (compromise_exchange.cc).
  boost::asio::awaitable<bool> SendStoredNotices(Session& s,
                                                 store::Reader& reader,
                                                 link::Link& link,
                                                 const std::string& peer);
  boost::asio::awaitable<void> OnCompromiseNotice(
      const std::string& peer,
      const std::shared_ptr<Result<CompromiseNotice>>& notice);
  // Metrics, log line and link refusals after a notice from `from` was
  // checked and applied (direct or sealed; io thread).
  void AfterNotice(const std::string& from, const NoticeOutcome& outcome);

  SyncDeps deps_;
  std::atomic<bool> notices_held_{false};  // HoldNotices
  std::set<Session*> sessions_;  // io thread only
  std::unique_ptr<PrekeyKeyring> prekeys_;
  std::shared_ptr<boost::asio::steady_timer> prekey_timer_;
  // Newest valid statement per member (io thread). A hub serves these to
  // every member; a member seals to them.
  std::map<protocol::PublicKey, PrekeyStatement> prekey_book_;
  std::set<protocol::PublicKey> awaiting_prekey_;  // io thread
  mutable std::mutex views_mu_;
  std::map<protocol::PublicKey, PrekeyView> views_;  // guarded by views_mu_
  // Our identity key's X25519 form: opens batches sealed to us.
  std::unique_ptr<crypto::LinkKey> sealed_key_;
  HubDelayBook hub_delays_;
  // Senders whose sealing times ran ahead of our clock, and when we last
  // logged it (io thread; one line per sender per hour).
  std::map<std::string, std::chrono::steady_clock::time_point> clock_ahead_;
};

}  // namespace caravan::daemon::sync
