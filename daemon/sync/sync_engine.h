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
//
// Threading: sessions are coroutines on the io_context; every store access
// and signature check is offloaded to the worker pool. Wake() and
// RerunWithheld() may be called from any thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <set>

#include "crypto/identity_key.h"
#include "daemon/link/link.h"
#include "daemon/policy/policy.h"
#include "daemon/store/store.h"
#include "daemon/sync/inbound.h"
#include "protocol/node_config.h"

namespace caravan::daemon::sync {

struct SyncDeps {
  boost::asio::io_context* io = nullptr;
  boost::asio::thread_pool* pool = nullptr;
  store::Store* store = nullptr;
  const crypto::IdentityKey* identity = nullptr;
  const protocol::NodeConfig* config = nullptr;
  // The running policy set and roster (swapped on reload).
  std::function<std::shared_ptr<const policy::PolicySet>()> policy;
  std::function<std::shared_ptr<const RosterIndex>()> roster;
  // Called (on the io thread) after a session stored new records, so other
  // sessions can relay them.
  std::function<void()> on_new_records;
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

 private:
  struct Session;
  boost::asio::awaitable<void> SendLoop(Session& s);
  boost::asio::awaitable<void> ReceiveLoop(Session& s);
  boost::asio::awaitable<Status> SendMessage(Session& s,
                                             capnp::MessageBuilder& message);

  SyncDeps deps_;
  std::set<Session*> sessions_;  // io thread only
};

}  // namespace caravan::daemon::sync
