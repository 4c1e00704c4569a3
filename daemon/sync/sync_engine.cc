#include "daemon/sync/sync_engine.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <ctime>
#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "daemon/observe/log.h"
#include "daemon/sync/decision_audit.h"
#include "crypto/identity_rotation.h"
#include "crypto/identity_x25519.h"
#include "crypto/key_text.h"
#include "daemon/sync/hub_envelope.h"
#include "daemon/sync/hub_prekey_book.h"
#include "daemon/sync/hub_relay.h"
#include "daemon/sync/inbound_queue.h"
#include "daemon/sync/offload.h"
#include "daemon/sync/sealed_chain.h"
#include "daemon/sync/unacked_page.h"
#include "daemon/sync/outbound_page.h"
#include "daemon/sync/prekey_keyring.h"
#include "protocol/peer.capnp.h"

namespace caravan::daemon::sync {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// Records decided per page and sent per message.
constexpr size_t kPageSize = 1000;
// Messages sent and not yet acknowledged: enough to keep a link busy, few
// enough that a reconnect re-sends little. The receiver commits what is
// queued in one transaction, so the window also sets how large its
// commits get, and on a big store that is what a catch-up costs: every
// commit rewrites the index pages its records touch at random (the ids,
// the values, the IP ranges), so fewer, larger commits write each such
// page once for more records. Catch-up of 1M records into an empty
// node, receiver CPU: 16 -> 52 s, 32 -> 45 s, 64 -> 42 s, 128 -> 42 s
// (wall 18.8k -> 25.2k records/s at 64). The writer's page cache size made
// no difference (64 vs 512 MiB).
constexpr size_t kMaxInFlight = 64;
// Received records checked and waiting for the committer, at most
// (InboundQueue): beyond either bound the receive loop stops reading (TCP
// pushes back on the peer). A conforming sender never has more than
// kMaxInFlight messages unacked. The byte bound is above a full window of
// typical records (706 signed bytes on average, with their batch's proof,
// in a 1M catch-up of the scale mix: 45 MB) and binds on large ones:
// records of the largest description (about 4 KiB) then queue about 16k
// at a time instead of 64k.
constexpr size_t kMaxQueuedRecords = kMaxInFlight * kPageSize;
constexpr size_t kMaxQueuedRecordBytes = size_t{64} << 20;
// Full pages in a row with nothing for the peer (typically records it sent
// us) that move our cursor without a message. The next message carries the
// cursor; this bounds what a reconnect decides again.
constexpr size_t kMaxSilentPages = 50;
// How often an idle session looks for ended embargoes.
constexpr auto kRecheckInterval = std::chrono::seconds(5);
// Sealed batches (hub mode) sent and not yet receipted by their recipient,
// at most, per recipient: each is kept (in memory and in sealed_outbox)
// until the receipt, so this bounds both; a recipient that is down holds
// its sender at this many envelopes queued at the hub.
constexpr size_t kMaxSealedUnreceipted = 8;

int64_t Now() { return std::time(nullptr); }

// How often a session writes its link's byte counts to the store (and at
// the end of the session), so `caravan peers list` follows the traffic.
constexpr auto kContactFlushInterval = std::chrono::seconds(5);

// Adds the bytes `link` moved since the last report to the peer's totals in
// the store. Queued without waiting (TryWrite: never blocks the io thread);
// a full queue leaves the delta for the next flush.
void FlushContact(store::Store& store, const std::string& peer,
                  const link::Link& link, uint64_t& reported_sent,
                  uint64_t& reported_received) {
  const uint64_t sent = link.bytes_sent() - reported_sent;
  const uint64_t received = link.bytes_received() - reported_received;
  if (sent == 0 && received == 0) return;
  auto queued = store.TryWrite([peer, sent, received](store::WriteTxn& txn) {
    return txn.RecordContact(peer, txn.now(), sent, received);
  });
  if (queued.wait_for(std::chrono::seconds(0)) == std::future_status::ready &&
      queued.get().code() == StatusCode::kRetryLater) {
    return;
  }
  reported_sent += sent;
  reported_received += received;
}

void CountInbound(Metrics* m, const std::string& peer,
                  const InboundOutcome& o) {
  if (m == nullptr) return;
  m->records_received.With({peer}).Inc(o.accepted + o.quarantined);
  m->records_stored.With({"peer"}).Inc(o.accepted + o.quarantined);
  m->records_duplicate.With({peer}).Inc(o.duplicates);
  for (const auto& [reason, n] : o.rejected_by_reason) {
    m->records_rejected.With({peer, reason}).Inc(n);
  }
}

}  // namespace

struct SyncEngine::Session {
  Session(std::shared_ptr<link::Link> l, asio::any_io_executor ex)
      : link(std::move(l)),
        wake(ex),
        ack_wake(ex),
        commit_wake(ex),
        room_wake(ex) {}

  std::shared_ptr<link::Link> link;
  PeerInfo peer;
  asio::steady_timer wake;
  bool dirty = true;            // look at the log again before waiting
  bool rerun_all = true;        // re-decide everything withheld
  uint64_t rerun_after = 0;     // where the full re-run continues
  uint64_t cursor = 0;          // decided (and sent) through here
  // The peer's Hello said it accepts whole batches (Records.batches).
  bool whole_batches = false;
  size_t silent_pages = 0;      // full pages decided since the last message
  // Sent and not yet recorded as acknowledged (the window): the peer's
  // acknowledgement moves peer_acked, the ack loop records and pops.
  struct InFlight {
    uint64_t up_to = 0;
    std::vector<SentRecord> sent;
    // Sealed sessions: the envelope, kept until its recipient's receipt
    // and sent again when it is missing. pair_seq 0: a page with nothing
    // for the recipient, recorded with the batches before it.
    std::vector<uint8_t> envelope;
    uint64_t pair_seq = 0;
    store::HubEnvelopeId envelope_id{};
    ChainHash hash{};
    bool queued_at_hub = false;  // the hub acknowledged holding it
    std::chrono::steady_clock::time_point sent_at{};
    // The recipient's prekey it is sealed to (0: its identity key), and
    // what sealing it again needs (previous hash || Records; empty on
    // rows of older versions).
    uint64_t prekey_id = 0;
    std::vector<uint8_t> reseal;
    // Compromise notices this batch carries, and the pending_notices rows
    // they came from (deleted on its receipt); kept with its outbox row
    // (WithSealedNotices), so a restart neither loses nor repeats them.
    std::vector<CompromiseNotice> notices;
    std::vector<NoticeRowDigest> notice_rows;
  };
  std::deque<InFlight> in_flight;
  uint64_t peer_acked = 0;
  // Direct sessions: what the peer's Hello said it had committed of our
  // log when the session opened (a sealed sub-session for the same member
  // settles its batches by it: SettleSealedByDirect).
  uint64_t hello_acked = 0;
  asio::steady_timer ack_wake;  // the ack loop waits here for an Ack
  std::unique_ptr<store::Reader> reader;  // send loop only, one call at a time
  BatchRootCache root_cache;              // receive loop only
  // Receive side pipeline: the receive loop checks each Records message
  // (CheckInbound) and queues it here; the commit loop stores everything
  // queued in one write and acknowledges it.
  InboundQueue checked{{kMaxQueuedRecords, kMaxQueuedRecordBytes}};
  asio::steady_timer commit_wake;  // the commit loop waits here for work
  asio::steady_timer room_wake;    // the receive loop waits here for room
  uint64_t reported_sent = 0, reported_received = 0;
  std::chrono::steady_clock::time_point contact_flushed =
      std::chrono::steady_clock::now();
  bool done = false;
  // Hub mode, sender side: this session decides for `peer`, a member
  // reached via the link's peer (a hub); batches go sealed, one at a time.
  bool sealed = false;
  bool hub_refused = false;  // the hub refused a batch: offer it again
  uint64_t resend_from = 0;  // the recipient asked for our batches from here
  uint64_t last_resend_from = 0;  // the last such request we served, when
  std::chrono::steady_clock::time_point last_resend_at{};
  uint64_t chain_seq = 0;    // the head of our chain to the recipient
  ChainHash chain_hash{};
  // Our last signed chain restart to the recipient (docs/federation.md
  // "Chain restart") and the pair seq it named as next: offered again
  // while the recipient still asks for a batch before that.
  std::vector<uint8_t> restart_envelope;
  uint64_t restart_next = 0;
  std::vector<std::shared_ptr<Session>> relayed;  // our sealed sub-sessions
  // Direct sessions: prekey statements to send (ours, or as a hub other
  // members'). Sealed sub-sessions: no valid prekey of the member is
  // known, so nothing is sealed.
  std::deque<PrekeyStatement> prekeys_out;
  bool awaiting_prekey = false;
  // Direct sessions: identity rotation statements to send (each <= 1 KiB).
  std::deque<std::vector<uint8_t>> rotations_out;
  // The store may hold compromise notices for the peer (read at the
  // start, and again after NoticesQueued named it): sent on the link, or
  // in a sealed batch by a sealed sub-session.
  bool notices_due = true;
  // Hub mode, hub side: queued envelopes sent to this peer, not yet acked.
  uint64_t hub_sent = 0;
  std::deque<uint64_t> hub_in_flight;

  void Poke() {
    dirty = true;
    wake.cancel();
  }
  // Wakes every loop of the session (it is ending).
  void PokeAll() {
    Poke();
    commit_wake.cancel();
    room_wake.cancel();
    ack_wake.cancel();
  }
};

SyncEngine::SyncEngine(SyncDeps deps)
    : deps_(std::move(deps)),
      sealed_key_(crypto::IdentityToX25519Key(*deps_.identity)),
      hub_delays_(deps_.config->hub.delay_alert) {}
SyncEngine::~SyncEngine() {
  if (prekey_timer_) prekey_timer_->cancel();
}

void SyncEngine::Wake() {
  asio::post(*deps_.io, [this] {
    for (Session* s : sessions_) s->Poke();
  });
}

void SyncEngine::RerunWithheld() {
  asio::post(*deps_.io, [this] {
    for (Session* s : sessions_) {
      s->rerun_all = true;
      s->rerun_after = 0;
      s->Poke();
    }
  });
}

void SyncEngine::RosterChanged() {
  asio::post(*deps_.io, [this] {
    const auto roster = deps_.roster();
    for (Session* s : sessions_) {
      if (s->sealed) continue;
      std::set<std::string> routed, open;
      for (const auto& m : roster->members()) {
        if (m.via == s->peer.name) routed.insert(m.name);
      }
      for (const auto& r : s->relayed) open.insert(r->peer.name);
      if (routed == open) continue;
      LogInfo("hub routes via ", s->peer.name,
              " changed; reconnecting to open them");
      s->link->Close("hub routes changed");
    }
  });
}

void SyncEngine::FlushContacts() {
  for (Session* s : sessions_) {
    if (s->sealed || !s->link) continue;
    FlushContact(*deps_.store, s->peer.name, *s->link, s->reported_sent,
                 s->reported_received);
  }
}

awaitable<Status> SyncEngine::SendMessage(Session& s,
                                          capnp::MessageBuilder& message) {
  for (;;) {
    Status sent = co_await s.link->Send(message);
    if (sent.code() != StatusCode::kRetryLater) co_return sent;
    // The peer reads slower than we write: wait, do not buffer more.
    asio::steady_timer pause(s.wake.get_executor(),
                             std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::as_tuple(use_awaitable));
    if (s.done) co_return Unavailable("link closed");
  }
}

void SyncEngine::NoticesQueued(std::vector<std::string> peers) {
  asio::post(*deps_.io, [this, peers = std::move(peers)] {
    for (Session* s : sessions_) {
      if (std::find(peers.begin(), peers.end(), s->peer.name) != peers.end()) {
        s->notices_due = true;
        s->Poke();
      }
    }
  });
}

awaitable<bool> SyncEngine::SendPendingNotices(Session& s) {
  if (!s.notices_due || notices_held_.load()) co_return true;
  s.notices_due = false;  // set again by NoticesQueued while we send
  co_return co_await SendStoredNotices(s, *s.reader, *s.link, s.peer.name);
}

awaitable<void> SyncEngine::RunSession(std::shared_ptr<link::Link> link) {
  auto executor = co_await asio::this_coro::executor;
  auto session = std::make_shared<Session>(link, executor);
  Session& s = *session;
  const auto& identity = link->peer();
  s.peer = {identity.name, identity.country, identity.key};

  // Our Hello: where the peer should resume sending to us.
  auto open_reader = [this] { return deps_.store->OpenReader(); };
  auto reader = *co_await Offload(*deps_.pool, std::move(open_reader));
  if (!reader.ok()) {
    LogError("sync with ", s.peer.name, ": ", reader.status().message());
    link->Close("internal error");
    co_return;
  }
  s.reader = std::move(*reader);
  store::Reader* r = s.reader.get();
  const std::string peer_name = s.peer.name;
  auto read_state = [r, peer_name] { return r->GetPeerState(peer_name); };
  auto state = *co_await Offload(*deps_.pool, std::move(read_state));
  if (!state.ok()) {
    link->Close("internal error");
    co_return;
  }
  {
    capnp::MallocMessageBuilder hello_message;
    auto hello = hello_message.initRoot<protocol::wire::PeerMessage>().initHello();
    hello.setProtocolVersion(1);
    hello.setNodeName(deps_.config->node.name);
    hello.setCountry(deps_.config->node.country);
    hello.setAckedSeq(state->inbound_seq);
    link::OfferCompression(hello, link->compression());  // docs/wire.md 4.3
    hello.setWholeBatches(true);  // docs/wire.md 4.0
    Status sent = co_await SendMessage(s, hello_message);
    if (!sent.ok()) co_return;
  }
  // Their Hello: where we resume.
  auto first = co_await link->Receive();
  if (!first.ok()) co_return;
  try {
    capnp::FlatArrayMessageReader message(
        kj::arrayPtr(first->data(), first->size()),
        link::PeerReaderOptions(deps_.config->peers.max_message_bytes));
    auto root = message.getRoot<protocol::wire::PeerMessage>();
    if (!root.isHello() || root.getHello().getProtocolVersion() != 1) {
      LogWarning("peer ", s.peer.name, " did not start with a Hello v1");
      link->Close("expected Hello v1");
      co_return;
    }
    s.cursor = root.getHello().getAckedSeq();
    s.hello_acked = s.cursor;
    s.whole_batches = root.getHello().getWholeBatches();
  } catch (const kj::Exception& e) {
    link->Close("malformed Hello");
    co_return;
  }
  LogInfo("sync with ", s.peer.name, " (", s.peer.country,
          ") resumes after our log entry ", s.cursor);
  {
    PageContext ctx{deps_.store, nullptr, nullptr, deps_.identity, Now()};
    const PeerInfo peer = s.peer;
    const uint64_t peer_acked = s.cursor;
    auto recover = [ctx, peer, peer_acked] {
      return RecoverAcknowledged(ctx, peer, peer_acked);
    };
    Status recovered = *co_await Offload(*deps_.pool, std::move(recover));
    if (!recovered.ok()) {
      LogError("sync with ", s.peer.name, ": ", recovered.message());
      link->Close("internal error");
      co_return;
    }
  }

  sessions_.insert(&s);
  QueueHeldRotations(s);  // before records: they may need the new key
  // Our current prekey statement first, and as a hub every member's.
  if (prekeys_) {
    if (auto own = prekeys_->Current(Now())) s.prekeys_out.push_back(*own);
  }
  if (deps_.config->hub.enabled) {
    for (const auto& [member, statement] : prekey_book_) {
      if (member != s.peer.key && statement.not_after > Now()) {
        s.prekeys_out.push_back(statement);
      }
    }
  }
  s.relayed = co_await OpenRelayed(s);
  // The send loop runs beside the receive loop. Not joined with Asio's
  // awaitable `||`: Boost 1.81's operators have a use-after-free in
  // cancellation (asio issue 1332). The session ends when the receive loop
  // does (link closed, or the peer broke the protocol); the send loop sees
  // `done` or the closed link, and we wait for it before the Session goes.
  // Sealed sub-sessions (hub mode) run their own send loops on this link.
  // The commit loop (received records) and the ack loop are joined the
  // same way.
  auto loops_running = std::make_shared<size_t>(3 + s.relayed.size());
  auto join = std::make_shared<asio::steady_timer>(executor);
  std::vector<Session*> loops{&s};
  for (auto& r : s.relayed) loops.push_back(r.get());
  // A loop that ends before the session does (a page it could not decide,
  // a store error) closes the link: left open, the link would look up
  // while nothing more is sent or committed; closed, the peers reconnect
  // and resume from what was acknowledged. `s` outlives every loop (we wait
  // for them below).
  Session* const main_session = &s;
  auto on_loop_end = [loops_running, join, main_session, link](std::string what) {
    return [loops_running, join, main_session, link, what](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          LogError("sync ", what, " failed: ", ex.what());
        }
      }
      if (!main_session->done && link->is_open()) {
        LogWarning("sync ", what, " ended before its session; closing the link");
        link->Close(what + " ended");
      }
      --*loops_running;
      join->cancel();
    };
  };
  for (Session* one : loops) {
    auto send_loop = SendLoop(*one);
    asio::co_spawn(executor, std::move(send_loop),
                   on_loop_end("send loop for " + one->peer.name));
  }
  auto commit_loop = CommitLoop(s);
  asio::co_spawn(executor, std::move(commit_loop),
                 on_loop_end("commit loop for " + s.peer.name));
  auto ack_loop = AckLoop(s);
  asio::co_spawn(executor, std::move(ack_loop),
                 on_loop_end("ack loop for " + s.peer.name));
  co_await ReceiveLoop(s);
  for (Session* one : loops) one->done = true;
  link->Close("session ended");
  while (*loops_running > 0) {
    for (Session* one : loops) one->PokeAll();
    join->expires_after(std::chrono::milliseconds(200));
    co_await join->async_wait(asio::as_tuple(use_awaitable));
  }
  FlushContact(*deps_.store, s.peer.name, *link, s.reported_sent,
               s.reported_received);
  sessions_.erase(&s);
  for (auto& r : s.relayed) {
    sessions_.erase(r.get());
    auto relayed_reader = std::make_shared<std::unique_ptr<store::Reader>>(
        std::move(r->reader));
    asio::post(*deps_.pool, [relayed_reader] { relayed_reader->reset(); });
  }
  // The reader is closed on the pool: SQLite calls stay off the io thread.
  auto last_reader = std::make_shared<std::unique_ptr<store::Reader>>(
      std::move(s.reader));
  asio::post(*deps_.pool, [last_reader] { last_reader->reset(); });
}

awaitable<void> SyncEngine::SendLoop(Session& s) {
  for (;;) {
    if (s.done || !s.link->is_open()) co_return;
    if (!s.sealed && !s.prekeys_out.empty() && !co_await SendQueuedPrekeys(s)) {
      co_return;
    }
    if (!s.sealed && !s.rotations_out.empty() && !co_await SendQueuedRotations(s)) {
      co_return;
    }
    if (!s.sealed && !co_await SendPendingNotices(s)) co_return;
    if (s.sealed) {
      // The member also has a direct link with us: that link carries
      // everything (records, notices); what we sealed and it committed
      // there is settled, and nothing new is sealed meanwhile.
      if (const Session* direct = DirectSessionWith(s.peer.key)) {
        const uint64_t hello = direct->hello_acked;
        const uint64_t acked = std::max(hello, direct->peer_acked);
        if (!co_await SettleSealedByDirect(s, hello, acked)) co_return;
        s.wake.expires_after(kRecheckInterval);
        co_await s.wake.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
    }
    if (s.sealed && !co_await ResendSealed(s)) co_return;
    if (s.sealed && SealablePrekey(s.peer.key) &&
        !co_await SendSealedNotices(s)) {
      co_return;
    }
    if (s.sealed && !SealablePrekey(s.peer.key)) {
      // Nothing is sealed to the member's identity key: its batches wait
      // (and the log stays undecided for it) until a prekey arrives,
      // which pokes us.
      NoteAwaitingPrekey(s);
      s.wake.expires_after(kRecheckInterval);
      co_await s.wake.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    if (!s.sealed && deps_.config->hub.enabled) co_await ForwardHubQueue(s);
    if (!s.sealed && std::chrono::steady_clock::now() - s.contact_flushed >=
                         kContactFlushInterval) {
      // Sealed sub-sessions share the hub's link: only its own session
      // reports that link's bytes.
      FlushContact(*deps_.store, s.peer.name, *s.link, s.reported_sent,
                   s.reported_received);
      s.contact_flushed = std::chrono::steady_clock::now();
    }
    if ((s.sealed ? SealedWindowFull(s) : s.in_flight.size() >= kMaxInFlight) ||
        !s.dirty) {
      s.wake.expires_after(
          s.sealed ? std::min<std::chrono::steady_clock::duration>(
                         kRecheckInterval, deps_.config->hub.resend_after)
                   : kRecheckInterval);
      auto [ec] = co_await s.wake.async_wait(asio::as_tuple(use_awaitable));
      if (ec != asio::error::operation_aborted) s.dirty = true;  // recheck
      continue;
    }
    s.dirty = false;
    const auto policy = deps_.policy();
    PageContext ctx{deps_.store, s.reader.get(), policy.get(),
                    deps_.identity, Now()};
    ctx.metrics = deps_.metrics;
    {
      auto roster = deps_.roster();
      ctx.chains = std::shared_ptr<const KeyChains>(roster, &roster->chains());
    }
    // Sealed batches go record by record (a hub's members say no Hello to
    // us): re-signing what is already signed would only add proof bytes.
    ctx.resign_own = s.whole_batches && !s.sealed;
    const PeerInfo peer = s.peer;
    const uint64_t cursor = s.cursor;
    const bool rerun_all = s.rerun_all;
    const uint64_t rerun_after = s.rerun_after;
    s.rerun_all = false;
    s.rerun_after = 0;

    // First what was withheld and may go now, then new log entries.
    auto next_after = std::make_shared<uint64_t>(0);
    auto redecide = [ctx, peer, rerun_all, rerun_after, next_after] {
      return RedecideWithheld(ctx, peer, rerun_all, rerun_after,
                              next_after.get());
    };
    auto redecided = *co_await Offload(*deps_.pool, std::move(redecide));
    if (*next_after != 0) {
      // More withheld entries to re-run after this page.
      s.rerun_all = true;
      s.rerun_after = *next_after;
      s.dirty = true;
    }
    auto decide = [ctx, peer, cursor] {
      return DecideNextPage(ctx, peer, cursor, kPageSize);
    };
    auto page = *co_await Offload(*deps_.pool, std::move(decide));
    if (!redecided.ok() || !page.ok()) {
      LogError("sync with ", peer.name, ": ",
               (!page.ok() ? page.status() : redecided.status()).message());
      co_return;
    }
    AppendPage(*page, std::move(*redecided));
    if (page->up_to_seq == 0 && page->sends.empty()) continue;
    const uint64_t up_to = std::max(s.cursor, page->up_to_seq);
    if (page->up_to_seq > 0) s.dirty = true;  // maybe more after this page
    if (s.sealed) {
      if (!co_await SendSealedPage(s, up_to, *page)) co_return;
      continue;
    }
    if (page->sends.empty() && page->full &&
        ++s.silent_pages < kMaxSilentPages) {
      // Nothing for the peer and more log after this page: no message (on
      // a catch-up from this peer every page of our log is its own
      // records); the next message tells it how far we decided.
      s.cursor = up_to;
      continue;
    }
    s.silent_pages = 0;

    capnp::MallocMessageBuilder message;
    WriteRecordsMessage(
        *page, up_to, s.whole_batches,
        message.initRoot<protocol::wire::PeerMessage>().initRecords());
    Status sent = co_await SendMessage(s, message);
    if (!sent.ok()) co_return;
    s.cursor = up_to;
    Session::InFlight sent_page;
    sent_page.up_to = up_to;
    sent_page.sent = std::move(page->sent);
    s.in_flight.push_back(std::move(sent_page));
  }
}

awaitable<void> SyncEngine::ReceiveLoop(Session& s) {
  for (;;) {
    auto words = co_await s.link->Receive();
    if (!words.ok()) co_return;
    auto shared_words =
        std::make_shared<std::vector<capnp::word>>(std::move(*words));
    try {
      capnp::FlatArrayMessageReader message(
          kj::arrayPtr(shared_words->data(), shared_words->size()),
          link::PeerReaderOptions(deps_.config->peers.max_message_bytes));
      auto root = message.getRoot<protocol::wire::PeerMessage>();
      switch (root.which()) {
        case protocol::wire::PeerMessage::RECORDS: {
          auto read = ReadRecordsMessage(root.getRecords());
          if (!read.ok()) {
            LogWarning("peer ", s.peer.name, " sent a ",
                       read.status().message(), "; closing");
            s.link->Close("malformed record");
            co_return;
          }
          auto received =
              std::make_shared<ReceivedRecords>(std::move(*read));
          if (!co_await QueueRecords(s, received)) co_return;
          break;
        }
        case protocol::wire::PeerMessage::ACK: {
          s.peer_acked = std::max(s.peer_acked, root.getAck().getUpToSeq());
          s.ack_wake.cancel();
          break;
        }
        case protocol::wire::PeerMessage::SEALED: {
          auto sealed = root.getSealed();
          auto data = sealed.getEnvelope();
          auto envelope =
              std::make_shared<std::vector<uint8_t>>(data.begin(), data.end());
          const uint64_t hub_seq = sealed.getHubSeq();
          if (!co_await OnSealed(s, envelope, hub_seq)) co_return;
          break;
        }
        case protocol::wire::PeerMessage::SEALED_ACK: {
          auto ack = root.getSealedAck();
          protocol::PublicKey recipient{};
          auto key = ack.getRecipientKey();
          if (key.size() == recipient.size()) {
            std::copy(key.begin(), key.end(), recipient.begin());
          }
          const uint64_t up_to = ack.getUpToSeq();
          auto text = ack.getRefused();
          const std::string refused(text.begin(),
                                    std::min<size_t>(text.size(), 1024));
          const uint64_t hub_seq = ack.getHubSeq();
          store::HubEnvelopeId id{};
          auto id_bytes = ack.getEnvelopeId();
          if (id_bytes.size() == id.size()) {
            std::copy(id_bytes.begin(), id_bytes.end(), id.begin());
          }
          if (!co_await OnSealedAck(s, recipient, up_to, refused, hub_seq,
                                    id)) {
            co_return;
          }
          break;
        }
        case protocol::wire::PeerMessage::PREKEY: {
          auto read = ReadPrekeyStatement(root.getPrekey());
          if (!read.ok()) {
            LogWarning("prekey statement via ", s.peer.name, " refused: ",
                       read.status().message());
            break;
          }
          auto statement = std::make_shared<PrekeyStatement>(*read);
          co_await OnPrekey(s, statement);
          break;
        }
        case protocol::wire::PeerMessage::IDENTITY_ROTATION: {
          // Checked on the worker pool by the node (key_chain.h); only
          // the size is bounded here.
          auto data = root.getIdentityRotation();
          if (data.size() > crypto::kMaxRotationStatementBytes) {
            LogWarning("identity rotation statement via ", s.peer.name, " of ",
                       data.size(), " bytes refused (over 1 KiB)");
          } else if (deps_.on_identity_rotation) {
            // Awaited before the next message is read: records this peer
            // sends next may need the new key (no record refused for a
            // rotation still being taken).
            auto take = [take_it = deps_.on_identity_rotation,
                         statement = std::vector<uint8_t>(data.begin(), data.end()),
                         via = s.peer.name] {
              take_it(statement, via);
              return true;
            };
            co_await Offload(*deps_.pool, std::move(take));
          }
          break;
        }
        case protocol::wire::PeerMessage::COMPROMISE_NOTICE: {  // issue 16
          auto notice = std::make_shared<Result<CompromiseNotice>>(
              ReadCompromiseNotice(root.getCompromiseNotice()));
          co_await OnCompromiseNotice(s.peer.name, notice);
          break;
        }
        case protocol::wire::PeerMessage::ERROR:
          LogWarning("peer ", s.peer.name, " reported an error: ",
                     std::string(root.getError().getMessage().cStr()));
          break;
        case protocol::wire::PeerMessage::BYE:
          co_return;
        default:
          // Hello twice, or ping/pong leaking through: a protocol breach.
          LogWarning("peer ", s.peer.name, " sent an unexpected message");
          s.link->Close("unexpected message");
          co_return;
      }
    } catch (const kj::Exception& e) {
      LogWarning("peer ", s.peer.name, " sent a malformed message: ",
                 e.getDescription().cStr());
      s.link->Close("malformed message");
      co_return;
    }
  }
}

awaitable<bool> SyncEngine::QueueRecords(
    Session& s, const std::shared_ptr<ReceivedRecords>& received) {
  // Full queue: stop reading until the commit loop took it.
  while (!s.checked.HasRoom()) {
    s.room_wake.expires_after(kRecheckInterval);
    co_await s.room_wake.async_wait(asio::as_tuple(use_awaitable));
    if (s.done || !s.link->is_open()) co_return false;
  }
  auto roster = deps_.roster();
  InboundContext ctx{deps_.store, roster.get(), nullptr,
                     deps_.identity->public_key(), &s.root_cache, Now()};
  // Rebuilding whole batches (hashing) and checking signatures both run
  // on the pool, never on the link's thread.
  auto check = [ctx, roster, received] {
    const uint64_t up_to = received->up_to_seq;
    return CheckInbound(ctx, roster,
                        InboundInLogOrder(std::move(*received), *roster),
                        up_to);
  };
  auto checked = *co_await Offload(*deps_.pool, std::move(check));
  if (s.done || !s.link->is_open()) co_return false;
  s.checked.Push(std::move(checked));
  s.commit_wake.cancel();
  co_return true;
}

awaitable<void> SyncEngine::CommitLoop(Session& s) {
  for (;;) {
    // What the session did not commit when it ends is not acknowledged:
    // the peer sends it again after reconnecting.
    if (s.done || !s.link->is_open()) co_return;
    if (s.checked.empty()) {
      s.commit_wake.expires_after(kRecheckInterval);
      co_await s.commit_wake.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    // Everything checked meanwhile goes in one write and one ack.
    auto batch = std::make_shared<std::vector<CheckedMessage>>(s.checked.TakeAll());
    s.room_wake.cancel();
    const auto policy = deps_.policy();
    InboundContext ctx{deps_.store, nullptr, policy.get(),
                       deps_.identity->public_key(), nullptr, Now()};
    if (deps_.warninglists) ctx.warninglists = deps_.warninglists();
    const PeerInfo peer = s.peer;
    auto store = [ctx, peer, batch, policy] {
      return StoreInbound(ctx, peer, *batch);
    };
    auto outcome = *co_await Offload(*deps_.pool, std::move(store));
    if (!outcome.ok()) {
      LogError("storing records from ", s.peer.name, ": ",
               outcome.status().message());
      s.link->Close("internal error");
      co_return;
    }
    CountInbound(deps_.metrics, s.peer.name, *outcome);
    if (outcome->stored_new && deps_.on_new_records) deps_.on_new_records();
    capnp::MallocMessageBuilder ack_message;
    ack_message.initRoot<protocol::wire::PeerMessage>().initAck().setUpToSeq(
        outcome->ack_seq);
    Status sent = co_await SendMessage(s, ack_message);
    if (!sent.ok()) co_return;
  }
}

awaitable<void> SyncEngine::AckLoop(Session& s) {
  for (;;) {
    if (s.done || !s.link->is_open()) co_return;
    size_t acked_messages = 0;
    auto done = std::make_shared<std::vector<SentRecord>>();
    for (auto& f : s.in_flight) {
      if (f.up_to > s.peer_acked) break;
      done->insert(done->end(), std::make_move_iterator(f.sent.begin()),
                   std::make_move_iterator(f.sent.end()));
      ++acked_messages;
    }
    if (acked_messages == 0) {
      s.ack_wake.expires_after(kRecheckInterval);
      co_await s.ack_wake.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    const uint64_t acked = s.in_flight[acked_messages - 1].up_to;
    const uint64_t sent_total = s.link->bytes_sent();
    const uint64_t received_total = s.link->bytes_received();
    const uint64_t sent_delta = sent_total - s.reported_sent;
    const uint64_t received_delta = received_total - s.reported_received;
    s.reported_sent = sent_total;
    s.reported_received = received_total;
    PageContext ctx{deps_.store, nullptr, nullptr, deps_.identity, Now()};
    const PeerInfo peer = s.peer;
    auto record = [ctx, peer, acked, done, sent_delta, received_delta] {
      return RecordAcknowledged(ctx, peer, acked, *done, sent_delta,
                                received_delta);
    };
    Status recorded = *co_await Offload(*deps_.pool, std::move(record));
    if (!recorded.ok()) {
      LogError("recording acknowledgement from ", s.peer.name, ": ",
               recorded.message());
      s.link->Close("internal error");
      co_return;
    }
    // Only now do they leave the window: what is sent and not recorded
    // stays bounded by kMaxInFlight however slow the store is.
    s.in_flight.erase(s.in_flight.begin(),
                      s.in_flight.begin() + static_cast<ptrdiff_t>(acked_messages));
    if (deps_.metrics != nullptr) {
      deps_.metrics->records_shared.With({s.peer.name}).Inc(done->size());
    }
    s.Poke();  // the in-flight window has room again
  }
}

// ---- Hub mode (docs/federation.md) -------------------------------------

namespace {

// The sealed window: a batch waits while kMaxSealedUnreceipted are
// unreceipted, or while the hub has not yet acknowledged holding the last
// one (so its acknowledgements, and refusals, come in our chain's order).
bool SealedWindowFullImpl(size_t batches, bool one_not_at_hub) {
  return batches >= kMaxSealedUnreceipted || one_not_at_hub;
}

}  // namespace

bool SyncEngine::SealedWindowFull(const Session& s) {
  size_t batches = 0;
  bool not_at_hub = false;
  for (const auto& f : s.in_flight) {
    if (f.pair_seq == 0) continue;
    ++batches;
    if (!f.queued_at_hub) not_at_hub = true;
  }
  return SealedWindowFullImpl(batches, not_at_hub);
}

awaitable<std::vector<std::shared_ptr<SyncEngine::Session>>>
SyncEngine::OpenRelayed(Session& s) {
  std::vector<std::shared_ptr<Session>> out;
  const auto roster = deps_.roster();
  for (const auto& m : roster->members()) {
    if (m.via != s.peer.name) continue;
    auto r = std::make_shared<Session>(s.link, s.wake.get_executor());
    r->peer = {m.name, m.country, m.key};
    r->sealed = true;
    auto open_reader = [this] { return deps_.store->OpenReader(); };
    auto reader = *co_await Offload(*deps_.pool, std::move(open_reader));
    if (!reader.ok()) {
      LogError("sealed sync for ", m.name, ": ", reader.status().message());
      continue;
    }
    r->reader = std::move(*reader);
    store::Reader* rd = r->reader.get();
    const std::string name = m.name;
    auto read_state = [rd, name] { return rd->GetPeerState(name); };
    auto state = *co_await Offload(*deps_.pool, std::move(read_state));
    if (!state.ok()) {
      LogError("sealed sync for ", m.name, ": ", state.status().message());
      continue;
    }
    // The recipient receipted through here: resume after it, with what we
    // sealed since and it has not receipted (our outbox) sent again.
    r->cursor = state->acked_seq;
    PageContext ctx{deps_.store, nullptr, nullptr, deps_.identity, Now()};
    const PeerInfo peer = r->peer;
    const uint64_t acked = r->cursor;
    auto drop_unacked = [ctx, peer, acked] {
      return RecoverAcknowledged(ctx, peer, acked);
    };
    Status dropped = *co_await Offload(*deps_.pool, std::move(drop_unacked));
    if (!dropped.ok()) {
      LogError("sealed sync for ", m.name, ": ", dropped.message());
      continue;
    }
    if (!co_await LoadOutbox(*r, acked)) continue;
    LogInfo("sealed sync with ", m.name, " via ", s.peer.name,
            " resumes after our log entry ", r->cursor, " (",
            r->in_flight.size(), " sealed batches awaiting its receipt)");
    sessions_.insert(r.get());
    out.push_back(std::move(r));
  }
  co_return out;
}

awaitable<bool> SyncEngine::LoadOutbox(Session& r, uint64_t acked) {
  store::Reader* rd = r.reader.get();
  const protocol::PublicKey key = r.peer.key;
  using Loaded =
      std::pair<store::SealedChainOut, std::vector<store::SealedOutboxEntry>>;
  auto load = [rd, key]() -> Result<Loaded> {
    auto head = rd->SealedChainOutGet(key);
    if (!head.ok()) return head.status();
    auto rows = rd->SealedOutbox(key);
    if (!rows.ok()) return rows.status();
    return Loaded{*head, std::move(*rows)};
  };
  auto loaded = *co_await Offload(*deps_.pool, std::move(load));
  if (!loaded.ok()) {
    LogError("sealed sync for ", r.peer.name, ": ",
             loaded.status().message());
    co_return false;
  }
  r.chain_seq = loaded->first.last_seq;
  r.chain_hash = loaded->first.last_hash;
  uint64_t receipted = 0;  // rows recorded before we stopped
  for (auto& row : loaded->second) {
    auto notices = SealedNoticesOf(row.sent);
    // A batch of compromise notices decides no log entry: its range says
    // nothing of its receipt. Its row (deleted with the notices' rows on
    // the receipt) still being here says it was not receipted.
    const bool carries_notices = notices.ok() && !notices->rows.empty();
    if (row.up_to_seq <= acked && !carries_notices) {
      receipted = row.pair_seq;
      continue;
    }
    auto header = InspectSealed(row.envelope, row.envelope.size());
    auto sent = DecodeUnackedPage(row.sent);
    if (!header.ok() || !sent.ok() || !notices.ok()) {
      // Our own row, unreadable: its records are decided again instead.
      LogError("sealed sync for ", r.peer.name, ": dropping unreadable "
               "outbox batch ", row.pair_seq);
      break;
    }
    Session::InFlight f;
    f.up_to = row.up_to_seq;
    f.sent = std::move(*sent);
    f.pair_seq = row.pair_seq;
    f.envelope_id = header->envelope_id;
    f.hash = EnvelopeHash(row.envelope);
    f.envelope = std::move(row.envelope);
    f.queued_at_hub = row.queued_at_hub;
    if (!ParsePrekeyKeyId(header->recipient_key_id, f.prekey_id)) {
      f.prekey_id = 0;
    }
    f.reseal = std::move(row.reseal);
    f.notices = std::move(notices->notices);
    f.notice_rows = std::move(notices->rows);
    // Not sent again at once: the hub most likely still holds it (it
    // acknowledged it durably); the recipient's receipt asks for what it
    // misses, and [hub] resend_after covers a hub that lost it.
    f.sent_at = std::chrono::steady_clock::now();
    r.cursor = std::max(r.cursor, f.up_to);
    r.in_flight.push_back(std::move(f));
  }
  // One not yet held by the hub (we stopped before its acknowledgement)
  // is offered again now.
  for (const auto& f : r.in_flight) {
    if (!f.queued_at_hub) {
      r.resend_from = f.pair_seq;
      break;
    }
  }
  if (receipted != 0) {
    store::Store* store = deps_.store;
    auto drop = [store, key, receipted] {
      return store
          ->Write([&](store::WriteTxn& txn) -> Status {
            auto rows = txn.SealedOutboxReceipted(key, receipted);
            return rows.ok() ? Status::Ok() : rows.status();
          })
          .get();
    };
    Status dropped = *co_await Offload(*deps_.pool, std::move(drop));
    if (!dropped.ok()) {
      LogError("sealed sync for ", r.peer.name, ": ", dropped.message());
      co_return false;
    }
  }
  co_return true;
}

awaitable<bool> SyncEngine::ResendSealed(Session& s) {
  // Nothing to send again, unless the recipient asks for a batch we
  // sealed (and then lost: RestartChain below).
  if (s.in_flight.empty() &&
      (s.resend_from == 0 || s.resend_from > s.chain_seq)) {
    s.hub_refused = false;
    s.resend_from = 0;
    co_return true;
  }
  const auto now = std::chrono::steady_clock::now();
  uint64_t from = 0;
  const char* why = "";
  if (s.resend_from != 0) {
    from = s.resend_from;
    why = "the recipient asked for it";
  } else if (s.hub_refused) {
    // The hub refused a batch (its queue for us is full): wait, then
    // offer it again; nothing new goes meanwhile.
    s.wake.expires_after(kRecheckInterval);
    co_await s.wake.async_wait(asio::as_tuple(use_awaitable));
    if (s.done || !s.link->is_open()) co_return false;
    for (const auto& f : s.in_flight) {
      if (f.pair_seq != 0 && !f.queued_at_hub) {
        from = f.pair_seq;
        break;
      }
    }
    why = "the hub refused it";
  } else {
    for (const auto& f : s.in_flight) {
      if (f.pair_seq == 0) continue;
      if (now - f.sent_at >= deps_.config->hub.resend_after) {
        from = f.pair_seq;
        why = "no receipt within [hub] resend_after";
      }
      break;  // the oldest batch decides
    }
  }
  s.resend_from = 0;
  s.hub_refused = false;
  if (from == 0) co_return true;
  // Asked for a batch we sealed but no longer hold (its outbox row was
  // unreadable or is gone): the recipient would ask forever. Tell it, in
  // a signed restart, that the chain goes on after our head; the records
  // come again in new batches.
  const bool held = std::any_of(
      s.in_flight.begin(), s.in_flight.end(),
      [from](const Session::InFlight& f) { return f.pair_seq == from; });
  if (!held && from <= s.chain_seq) {
    if (s.restart_next == 0 || from >= s.restart_next) {
      co_return co_await RestartChain(s, from);
    }
    // Our restart has not reached it yet (lost, or the hub holds it).
    capnp::MallocMessageBuilder again;
    auto sealed = again.initRoot<protocol::wire::PeerMessage>().initSealed();
    sealed.setEnvelope(kj::arrayPtr(s.restart_envelope.data(),
                                    s.restart_envelope.size()));
    Status sent = co_await SendMessage(s, again);
    if (!sent.ok()) co_return false;
    from = s.restart_next;
    why = "after our chain restart, which it had not seen";
  }
  // A batch sealed to a prekey the member no longer holds (it refused it)
  // goes again sealed to its current one.
  if (!co_await ResealFrom(s, from)) co_return false;
  // By pair seq, not by reference: a receipt read while we wait to send
  // may take batches out of the window.
  std::vector<uint64_t> batches;
  for (const auto& f : s.in_flight) {
    if (f.pair_seq != 0 && f.pair_seq >= from) batches.push_back(f.pair_seq);
  }
  size_t resent = 0;
  for (uint64_t pair_seq : batches) {
    capnp::MallocMessageBuilder again;
    bool still_unreceipted = false;
    for (auto& f : s.in_flight) {
      if (f.pair_seq != pair_seq) continue;
      auto sealed = again.initRoot<protocol::wire::PeerMessage>().initSealed();
      sealed.setEnvelope(kj::arrayPtr(f.envelope.data(), f.envelope.size()));
      f.sent_at = now;
      f.queued_at_hub = false;
      still_unreceipted = true;
    }
    if (!still_unreceipted) continue;
    Status sent = co_await SendMessage(s, again);
    if (!sent.ok()) co_return false;
    ++resent;
  }
  if (resent > 0) {
    LogInfo("sealed sync with ", s.peer.name, ": sent ", resent,
            " batches again from pair seq ", from, " (", why, ")");
  }
  co_return true;
}

awaitable<bool> SyncEngine::RestartChain(Session& s, uint64_t from) {
  const uint64_t next = s.chain_seq + 1;
  SealedHeaderInfo header;
  header.envelope_id = NewEnvelopeId();
  header.sender_name = deps_.config->node.name;
  header.sender_key = deps_.identity->public_key();
  header.recipient_key = s.peer.key;
  const SealedRestartInfo restart{
      next, s.chain_hash, from,
      "the sender no longer holds pair seqs " + std::to_string(from) + ".." +
          std::to_string(s.chain_seq) +
          " (its outbox row is unreadable or gone); their records come "
          "again in new batches from pair seq " + std::to_string(next)};
  const crypto::IdentityKey* identity = deps_.identity;
  store::Store* store = deps_.store;
  store::Reader* rd = s.reader.get();
  const PeerInfo peer = s.peer;
  const size_t max_bytes =
      std::min<size_t>(deps_.config->hub.max_envelope_bytes,
                       deps_.config->peers.max_message_bytes - 1024);
  struct Restarted {
    std::vector<uint8_t> envelope;
    uint64_t acked = 0;      // the recipient's receipted log point
    uint64_t dropped = 0;    // outbox rows dropped
  };
  // Sealed, our outbox for the recipient emptied (its records are decided
  // again from the receipted point) and audited, in that order: a crash
  // in between leaves at worst a restart sent again.
  auto work = [header, restart, identity, store, rd, peer,
               max_bytes]() -> Result<Restarted> {
    auto envelope = SealRestart(header, restart, *identity, max_bytes);
    if (!envelope.ok()) return envelope.status();
    auto state = rd->GetPeerState(peer.name);
    if (!state.ok()) return state.status();
    Restarted out;
    out.envelope = std::move(*envelope);
    out.acked = state->acked_seq;
    nlohmann::json detail = {{"recipient", peer.name},
                             {"lost_from", restart.lost_from},
                             {"lost_to", restart.next_seq - 1},
                             {"next_seq", restart.next_seq},
                             {"redecide_after", out.acked},
                             {"reason", restart.reason}};
    Status written = store->Write([&](store::WriteTxn& txn) -> Status {
      auto dropped =
          txn.SealedOutboxDropThrough(peer.key, restart.next_seq - 1);
      if (!dropped.ok()) return dropped.status();
      out.dropped = *dropped;
      detail["outbox_rows_dropped"] = out.dropped;
      auto a = txn.AppendAudit({txn.now(), "peer:" + peer.name,
                                "sealed_chain_restart_sent",
                                crypto::ToHex(header.envelope_id), peer.name,
                                AuditDetailJson(detail)});
      return a.ok() ? Status::Ok() : a.status();
    }).get();
    if (!written.ok()) return written;
    return out;
  };
  auto done = *co_await Offload(*deps_.pool, std::move(work));
  if (!done.ok()) {
    LogError("restarting our sealed chain to ", s.peer.name, ": ",
             done.status().message());
    co_return false;
  }
  LogWarning(s.peer.name, " asks for our sealed batch ", from,
             ", which we no longer hold: chain restarted at pair seq ", next,
             " (", done->dropped, " outbox rows dropped); its records are "
             "decided again after our log entry ", done->acked);
  // Every batch not receipted goes again, decided anew: the ones we lost
  // and those after them (the recipient skips to `next`).
  s.in_flight.clear();
  s.cursor = done->acked;
  s.notices_due = true;  // notices that rode in them go again
  s.restart_envelope = std::move(done->envelope);
  s.restart_next = next;
  s.Poke();
  capnp::MallocMessageBuilder message;
  auto sealed = message.initRoot<protocol::wire::PeerMessage>().initSealed();
  sealed.setEnvelope(kj::arrayPtr(s.restart_envelope.data(),
                                  s.restart_envelope.size()));
  Status sent = co_await SendMessage(s, message);
  co_return sent.ok();
}

awaitable<bool> SyncEngine::SendSealedPage(Session& s, uint64_t up_to,
                                           OutboundPage& page) {
  if (page.sends.empty()) {
    // Nothing for the recipient in this page (all withheld or skipped):
    // no envelope, the decision alone moves the cursor. With batches
    // awaiting their receipt it is recorded with them, so the recorded
    // point never passes a batch the recipient has not committed.
    if (!s.in_flight.empty()) {
      if (s.in_flight.back().pair_seq != 0) s.in_flight.emplace_back();
      auto& marker = s.in_flight.back();
      marker.up_to = std::max(marker.up_to, up_to);
      marker.sent.insert(marker.sent.end(),
                         std::make_move_iterator(page.sent.begin()),
                         std::make_move_iterator(page.sent.end()));
      s.cursor = std::max(s.cursor, up_to);
      co_return true;
    }
    PageContext ctx{deps_.store, nullptr, nullptr, deps_.identity, Now()};
    const PeerInfo peer = s.peer;
    auto record = [ctx, peer, up_to] {
      return RecordAcknowledged(ctx, peer, up_to, {}, 0, 0);
    };
    Status recorded = *co_await Offload(*deps_.pool, std::move(record));
    if (!recorded.ok()) {
      LogError("sealed sync with ", s.peer.name, ": ", recorded.message());
      co_return false;
    }
    s.cursor = up_to;
    co_return true;
  }
  SealedHeaderInfo header;
  header.envelope_id = NewEnvelopeId();
  header.sender_name = deps_.config->node.name;
  header.sender_key = deps_.identity->public_key();
  header.recipient_key = s.peer.key;
  header.first_seq = s.cursor + 1;
  for (const auto& [seq, record] : page.sends) {
    header.first_seq = std::min(header.first_seq, seq);
  }
  header.up_to_seq = std::max(up_to, header.first_seq);
  auto sends = std::make_shared<
      std::vector<std::pair<uint64_t, protocol::SignedRecord>>>(
      std::move(page.sends));
  auto sent_list = std::make_shared<std::vector<SentRecord>>(
      std::move(page.sent));
  const SealedNoticeSet no_notices;
  co_return co_await SealAndSend(s, header, up_to, sends, sent_list,
                                 no_notices);
}

awaitable<bool> SyncEngine::SealAndSend(
    Session& s, const SealedHeaderInfo& header_in, uint64_t up_to,
    const std::shared_ptr<
        std::vector<std::pair<uint64_t, protocol::SignedRecord>>>& sends,
    const std::shared_ptr<std::vector<SentRecord>>& sent_list,
    const SealedNoticeSet& notice_set) {
  SealedHeaderInfo header = header_in;
  const auto carried = std::make_shared<const SealedNoticeSet>(notice_set);
  const ChainLink link{s.chain_seq + 1, s.chain_hash};
  // Sealed to the member's current prekey (the send loop waits while it
  // has none): never to its identity key.
  // (It may have expired while this page was decided: then the page
  // waits here for the next one.)
  std::optional<PrekeyStatement> prekey = SealablePrekey(s.peer.key);
  while (!prekey) {
    NoteAwaitingPrekey(s);
    s.wake.expires_after(kRecheckInterval);
    co_await s.wake.async_wait(asio::as_tuple(use_awaitable));
    if (s.done || !s.link->is_open()) co_return false;
    prekey = SealablePrekey(s.peer.key);
  }
  header.recipient_key_id = PrekeyKeyId(prekey->prekey_id);
  const crypto::X25519PublicKey prekey_public = prekey->prekey_public;
  const crypto::IdentityKey* identity = deps_.identity;
  store::Store* store = deps_.store;
  // Leave room for the Sealed/PeerMessage framing around the envelope.
  const size_t max_bytes =
      std::min<size_t>(deps_.config->hub.max_envelope_bytes,
                       deps_.config->peers.max_message_bytes - 1024);
  // Sealed, then kept in the outbox (and made the head of our chain)
  // before it leaves: whatever happens to it after, we can send it again.
  auto reseal = std::make_shared<std::vector<uint8_t>>();
  auto seal = [header, link, sends, sent_list, identity, store, max_bytes,
               prekey_public, reseal,
               carried]() -> Result<std::vector<uint8_t>> {
    auto batch = EncodeSealedBatch(header, *sends);
    if (!batch.ok()) return batch.status();
    auto envelope = SealEncodedBatch(header, link, *batch, *identity,
                                     max_bytes, &prekey_public,
                                     carried->notices);
    if (!envelope.ok()) return envelope.status();
    reseal->assign(link.prev_hash.begin(), link.prev_hash.end());
    reseal->insert(reseal->end(), batch->begin(), batch->end());
    store::SealedOutboxEntry row;
    row.recipient_key = header.recipient_key;
    row.pair_seq = link.pair_seq;
    row.up_to_seq = header.up_to_seq;
    row.envelope = *envelope;
    row.sent = EncodeUnackedPage(*sent_list);
    if (!carried->rows.empty()) row.sent = WithSealedNotices(row.sent, *carried);
    row.reseal = *reseal;
    const ChainHash hash = EnvelopeHash(*envelope);
    Status kept = store->Write([&](store::WriteTxn& txn) {
      return txn.SealedOutboxPut(row, hash);
    }).get();
    if (!kept.ok()) return kept;
    return std::move(*envelope);
  };
  auto envelope = *co_await Offload(*deps_.pool, std::move(seal));
  if (!envelope.ok()) {
    LogError("sealing a batch for ", s.peer.name, ": ",
             envelope.status().message());
    co_return false;
  }
  s.chain_seq = link.pair_seq;
  s.chain_hash = EnvelopeHash(*envelope);
  Session::InFlight f;
  f.up_to = header.up_to_seq;
  f.sent = std::move(*sent_list);
  f.pair_seq = link.pair_seq;
  f.envelope_id = header.envelope_id;
  f.hash = s.chain_hash;
  f.sent_at = std::chrono::steady_clock::now();
  f.envelope = std::move(*envelope);
  f.prekey_id = prekey->prekey_id;
  f.reseal = std::move(*reseal);
  f.notices = carried->notices;
  f.notice_rows = carried->rows;
  s.cursor = std::max(s.cursor, up_to);
  s.in_flight.push_back(std::move(f));
  capnp::MallocMessageBuilder message;
  auto sealed = message.initRoot<protocol::wire::PeerMessage>().initSealed();
  const auto& bytes = s.in_flight.back().envelope;
  sealed.setEnvelope(kj::arrayPtr(bytes.data(), bytes.size()));
  Status sent = co_await SendMessage(s, message);
  co_return sent.ok();
}

awaitable<bool> SyncEngine::SendSealedNotices(Session& s) {
  if (!s.notices_due || notices_held_.load() || SealedWindowFull(s)) {
    co_return true;
  }
  s.notices_due = false;  // set again by NoticesQueued while we send
  std::set<NoticeRowDigest> riding;
  for (const auto& f : s.in_flight) {
    riding.insert(f.notice_rows.begin(), f.notice_rows.end());
  }
  store::Reader* reader = s.reader.get();
  const std::string peer = s.peer.name;
  const crypto::IdentityKey* identity = deps_.identity;
  auto choose = [reader, peer, riding,
                 identity]() -> Result<SealedNoticeChoice> {
    auto pending = reader->PendingNoticesFor(peer);
    if (!pending.ok()) return pending.status();
    return ChooseSealedNotices(pending->rows, riding, *identity,
                               kMaxSealedNotices);
  };
  auto chosen = *co_await Offload(*deps_.pool, std::move(choose));
  if (!chosen.ok()) {
    LogError("compromise notices for ", peer, ": ",
             chosen.status().message());
    co_return false;  // the session ends; the next one reads them again
  }
  if (chosen->more) s.notices_due = true;  // the rest in the next batch
  if (!chosen->damaged.empty()) {
    LogWarning("compromise notices for ", peer, ": ", chosen->damaged.size(),
               " unreadable stored rows dropped");
    store::Store* store = deps_.store;
    auto forget = [store, peer, damaged = chosen->damaged] {
      return ForgetPendingNotices(*store, peer, damaged);
    };
    Status forgotten = *co_await Offload(*deps_.pool, std::move(forget));
    if (!forgotten.ok()) {
      LogError("compromise notices for ", peer, ": ", forgotten.message());
    }
  }
  if (chosen->next.rows.empty()) co_return true;
  // A batch of its own, deciding nothing new: its range is the point we
  // decided through, so it is recorded with the batches before it.
  SealedHeaderInfo header;
  header.envelope_id = NewEnvelopeId();
  header.sender_name = deps_.config->node.name;
  header.sender_key = deps_.identity->public_key();
  header.recipient_key = s.peer.key;
  header.first_seq = s.cursor;
  header.up_to_seq = s.cursor;
  const uint64_t up_to = s.cursor;
  auto sends = std::make_shared<
      std::vector<std::pair<uint64_t, protocol::SignedRecord>>>();
  auto sent_list = std::make_shared<std::vector<SentRecord>>();
  const SealedNoticeSet notices = chosen->next;
  const bool sealed =
      co_await SealAndSend(s, header, up_to, sends, sent_list, notices);
  if (!sealed) co_return false;
  if (deps_.metrics != nullptr) {
    deps_.metrics->member_trust_events.With({"notice_sent"})
        .Inc(notices.rows.size());
  }
  LogNotice("compromise notices sealed to ", peer, " (pair seq ",
            s.chain_seq, "): ", notices.rows.size());
  co_return true;
}

awaitable<void> SyncEngine::ForwardHubQueue(Session& s) {
  if (s.hub_in_flight.size() >= kMaxInFlight) co_return;
  store::Reader* r = s.reader.get();
  const protocol::PublicKey key = s.peer.key;
  const uint64_t after = s.hub_sent;
  const size_t room = kMaxInFlight - s.hub_in_flight.size();
  auto read = [r, key, after, room] { return r->HubPending(key, after, room); };
  auto pending = *co_await Offload(*deps_.pool, std::move(read));
  if (!pending.ok()) {
    LogError("hub queue for ", s.peer.name, ": ", pending.status().message());
    co_return;
  }
  for (const auto& e : *pending) {
    capnp::MallocMessageBuilder message;
    auto sealed = message.initRoot<protocol::wire::PeerMessage>().initSealed();
    sealed.setEnvelope(kj::arrayPtr(e.envelope.data(), e.envelope.size()));
    sealed.setHubSeq(e.hub_seq);
    Status sent = co_await SendMessage(s, message);
    if (!sent.ok()) co_return;
    s.hub_sent = e.hub_seq;
    s.hub_in_flight.push_back(e.hub_seq);
  }
}

awaitable<bool> SyncEngine::OnSealed(
    Session& s, const std::shared_ptr<std::vector<uint8_t>>& envelope,
    uint64_t hub_seq) {
  const auto policy = deps_.policy();
  const auto roster = deps_.roster();
  SealedContext ctx;
  ctx.inbound = InboundContext{deps_.store, roster.get(), policy.get(),
                               deps_.identity->public_key(), &s.root_cache,
                               Now()};
  if (deps_.warninglists) ctx.inbound.warninglists = deps_.warninglists();
  ctx.x25519 = sealed_key_.get();
  ctx.prekeys = prekeys_.get();
  ctx.identity = deps_.identity;
  ctx.self_name = deps_.config->node.name;
  ctx.hub = &deps_.config->hub;
  ctx.max_envelope_bytes = std::min<size_t>(deps_.config->hub.max_envelope_bytes,
                                            deps_.config->peers.max_message_bytes);
  ctx.act_on_notices = deps_.config->inbound.act_on_compromise_notices;
  const PeerInfo link_peer = s.peer;
  auto handle = [ctx, link_peer, envelope, hub_seq, policy, roster] {
    return HandleSealed(ctx, link_peer, *envelope, hub_seq);
  };
  auto outcome = *co_await Offload(*deps_.pool, std::move(handle));
  if (!outcome.ok()) {
    LogError("handling a sealed batch from ", s.peer.name, ": ",
             outcome.status().message());
    co_return false;
  }
  if (outcome->kind == SealedOutcome::kBreach) {
    LogWarning("peer ", s.peer.name, " sent a bad sealed envelope: ",
               outcome->reason);
    s.link->Close("bad sealed envelope");
    co_return false;
  }
  if (outcome->kind == SealedOutcome::kRefused) {
    LogWarning("sealed envelope via ", s.peer.name, " refused: ",
               outcome->reason);
  }
  if (outcome->kind == SealedOutcome::kRestarted) {
    LogWarning("sealed chain from ", outcome->header.sender_name, " via ",
               s.peer.name, ": ", outcome->reason);
  }
  if (!outcome->chain_fault.empty()) {
    LogWarning("sealed chain from ", outcome->header.sender_name, " via ",
               s.peer.name, ": ", outcome->chain_fault, " (envelope ",
               crypto::ToHex(outcome->header.envelope_id), ")");
  }
  for (const auto& notice : outcome->notices) {
    AfterNotice(outcome->header.sender_name, notice);
  }
  if (outcome->kind == SealedOutcome::kApplied && outcome->inbound.stored_new &&
      deps_.on_new_records) {
    deps_.on_new_records();
  }
  if (outcome->kind == SealedOutcome::kQueued) {
    // The recipient's session (if its link is up) forwards it now.
    for (Session* other : sessions_) other->Poke();
  }
  if (outcome->kind == SealedOutcome::kApplied ||
      outcome->kind == SealedOutcome::kReceipt) {
    co_await NoteHubDelay(s, *outcome);
  }
  if (outcome->kind == SealedOutcome::kReceipt) {
    if (!co_await OnReceipt(s, *outcome)) co_return false;
  }
  if (!outcome->reply.empty()) {
    // Our signed receipt back to the sender, through the same link.
    capnp::MallocMessageBuilder reply_message;
    auto reply =
        reply_message.initRoot<protocol::wire::PeerMessage>().initSealed();
    reply.setEnvelope(
        kj::arrayPtr(outcome->reply.data(), outcome->reply.size()));
    Status sent = co_await SendMessage(s, reply_message);
    if (!sent.ok()) co_return false;
  }
  capnp::MallocMessageBuilder ack_message;
  auto ack = ack_message.initRoot<protocol::wire::PeerMessage>().initSealedAck();
  if (hub_seq != 0) {
    // To the hub: committed (or refused for good; it must not come again).
    ack.setHubSeq(hub_seq);
  } else {
    // To the sender: queued on our disk, or refused with the reason.
    const auto& h = outcome->header;
    ack.setRecipientKey(kj::arrayPtr(h.recipient_key.data(), h.recipient_key.size()));
    ack.setUpToSeq(h.up_to_seq);
    ack.setEnvelopeId(kj::arrayPtr(h.envelope_id.data(), h.envelope_id.size()));
    if (outcome->kind == SealedOutcome::kRefused) ack.setRefused(outcome->reason);
  }
  Status sent = co_await SendMessage(s, ack_message);
  co_return sent.ok();
}

awaitable<void> SyncEngine::NoteHubDelay(Session& s, const SealedOutcome& o) {
  std::string sender;
  if (o.kind == SealedOutcome::kReceipt) {
    sender = o.receipt_from.name;
  } else {
    const auto roster = deps_.roster();
    if (const auto* m = roster->Find(o.header.sender_key)) sender = m->name;
  }
  // Sent by the link peer itself: no hub in between to measure.
  if (sender.empty() || sender == s.peer.name) co_return;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string hub = s.peer.name;
  const HubDelayBook::Observation seen =
      hub_delays_.Observe(hub, sender, o.sealed_at_ms, now_ms);
  if (seen.clock_ahead) {
    const auto now = std::chrono::steady_clock::now();
    auto it = clock_ahead_.find(sender);
    if (it == clock_ahead_.end() || now - it->second >= std::chrono::hours(1)) {
      if (clock_ahead_.size() < kMaxHubDelayPairs) clock_ahead_[sender] = now;
      LogWarning("sealed envelopes from ", sender, " via ", hub,
                 " state a sealing time ", o.sealed_at_ms - now_ms,
                 " ms ahead of our clock (more than ",
                 kMaxSealedClockAhead.count(),
                 " ms): its delay is not measured; check both clocks (NTP)");
    }
  }
  if (!seen.measured) co_return;
  if (deps_.metrics != nullptr) {
    deps_.metrics->hub_delay_seconds.With({hub, sender})
        .Observe(static_cast<double>(seen.delay_ms) / 1000.0);
  }
  if (!seen.audit_due) co_return;
  const bool receipt = o.kind == SealedOutcome::kReceipt;
  LogWarning(receipt ? "a receipt" : "a sealed batch", " from ", sender,
             " took ", seen.delay_ms, " ms through hub ", hub,
             " ([hub] delay_alert = ", hub_delays_.alert().count(), " ms)");
  nlohmann::json detail = {
      {"hub", hub},
      {"sender", sender},
      {"kind", receipt ? "receipt" : "batch"},
      {"envelope", crypto::ToHex(o.header.envelope_id)},
      {"delay_ms", seen.delay_ms},
      {"delay_alert_ms", hub_delays_.alert().count()},
      {"sealed_at_ms", o.sealed_at_ms},
      {"opened_at_ms", now_ms},
      {"held_back", seen.held_back}};
  if (!receipt) {
    detail["first_seq"] = o.header.first_seq;
    detail["up_to_seq"] = o.header.up_to_seq;
  }
  store::Store* store = deps_.store;
  const std::string envelope = crypto::ToHex(o.header.envelope_id);
  auto audit = [store, hub, sender, envelope, detail]() -> Status {
    return store->Write([&](store::WriteTxn& txn) -> Status {
      auto a = txn.AppendAudit({txn.now(), "peer:" + hub, "hub_delay",
                                envelope, sender, AuditDetailJson(detail)});
      return a.ok() ? Status::Ok() : a.status();
    }).get();
  };
  Status written = *co_await Offload(*deps_.pool, std::move(audit));
  if (!written.ok()) {
    LogError("auditing a hub delay via ", hub, ": ", written.message());
  }
}

std::map<std::pair<std::string, std::string>, HubDelayBook::View>
SyncEngine::HubDelayViews() const {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  return hub_delays_.Views(now_ms);
}

awaitable<bool> SyncEngine::OnReceipt(Session& s, const SealedOutcome& o) {
  Session* target = nullptr;
  for (auto& r : s.relayed) {
    if (r->peer.key == o.receipt_from.key) target = r.get();
  }
  if (target == nullptr) {
    LogWarning("a receipt from ", o.receipt_from.name, " came via ",
               s.peer.name, ", which we do not route it through; ignored");
    co_return true;
  }
  const SealedReceiptInfo& receipt = o.receipt;
  auto done = std::make_shared<std::vector<SentRecord>>();
  // Compromise notices the receipted batches carried: delivered end to
  // end now (C committed them), so their stored rows go.
  std::vector<NoticeRowDigest> notices_done;
  uint64_t recorded_up_to = 0;
  bool hash_ok = true;
  while (!target->in_flight.empty()) {
    auto& front = target->in_flight.front();
    if (front.pair_seq > receipt.committed_seq) break;
    if (front.pair_seq == receipt.committed_seq &&
        front.hash != receipt.committed_hash) {
      hash_ok = false;
    }
    done->insert(done->end(), std::make_move_iterator(front.sent.begin()),
                 std::make_move_iterator(front.sent.end()));
    notices_done.insert(notices_done.end(), front.notice_rows.begin(),
                        front.notice_rows.end());
    recorded_up_to = front.up_to;
    target->in_flight.pop_front();
  }
  if (!hash_ok) {
    LogWarning(target->peer.name, " receipted our sealed batch ",
               receipt.committed_seq, " with another hash than we sent");
  }
  const bool report = receipt.resend_from != 0 || receipt.refused_envelope;
  if (recorded_up_to == 0 && !report && notices_done.empty()) {
    co_return true;  // nothing new
  }
  PageContext ctx{deps_.store, nullptr, nullptr, deps_.identity, Now()};
  const PeerInfo peer = target->peer;
  const std::string hub = s.peer.name;
  auto record = [ctx, peer, hub, receipt, recorded_up_to, done, report,
                 notices_done]() -> Status {
    if (recorded_up_to != 0) {
      CARAVAN_RETURN_IF_ERROR(
          RecordAcknowledged(ctx, peer, recorded_up_to, *done, 0, 0));
    }
    return ctx.store->Write([&](store::WriteTxn& txn) -> Status {
      auto rows = txn.SealedOutboxReceipted(peer.key, receipt.committed_seq);
      if (!rows.ok()) return rows.status();
      for (const auto& digest : notices_done) {
        CARAVAN_RETURN_IF_ERROR(txn.PendingNoticeDelete(peer.name, digest));
      }
      if (!report) return Status::Ok();
      // The recipient reports what the hub did to our chain: audited here
      // too, with its signed words.
      nlohmann::json detail = {{"recipient", peer.name},
                               {"via", hub},
                               {"committed_seq", receipt.committed_seq},
                               {"resend_from", receipt.resend_from}};
      if (receipt.refused_envelope) {
        detail["refused_envelope"] = crypto::ToHex(*receipt.refused_envelope);
        detail["refused_reason"] = receipt.refused_reason;
      }
      auto a = txn.AppendAudit({txn.now(), "peer:" + peer.name,
                                "hub_fault_reported", peer.name, hub,
                                AuditDetailJson(detail)});
      return a.ok() ? Status::Ok() : a.status();
    }).get();
  };
  Status recorded = *co_await Offload(*deps_.pool, std::move(record));
  if (!recorded.ok()) {
    LogError("recording the receipt of ", peer.name, ": ", recorded.message());
    co_return false;
  }
  if (deps_.metrics != nullptr && !done->empty()) {
    deps_.metrics->records_shared.With({peer.name}).Inc(done->size());
  }
  if (!notices_done.empty()) {
    LogNotice("compromise notices to ", peer.name, " receipted by it via ",
              hub, ": ", notices_done.size());
  }
  if (receipt.resend_from != 0) {
    LogWarning(peer.name, " reports via ", hub, " that it misses our sealed "
               "batch ", receipt.resend_from,
               receipt.refused_envelope ? " (refused: " +
                                              receipt.refused_reason + ")"
                                        : std::string());
    // Every envelope after a gap asks for the same resend: send once per
    // point, and again only after [hub] resend_after.
    const auto now = std::chrono::steady_clock::now();
    if (receipt.resend_from != target->last_resend_from ||
        now - target->last_resend_at >= deps_.config->hub.resend_after) {
      target->resend_from = receipt.resend_from;
      target->last_resend_from = receipt.resend_from;
      target->last_resend_at = now;
    }
  }
  target->Poke();
  co_return true;
}

// ---- A hub and a direct link at once (docs/federation.md) -------------

const SyncEngine::Session* SyncEngine::DirectSessionWith(
    const protocol::PublicKey& key) const {
  for (const Session* o : sessions_) {
    if (!o->sealed && o->peer.key == key && !o->done && o->link->is_open()) {
      return o;
    }
  }
  return nullptr;
}

awaitable<bool> SyncEngine::SettleSealedByDirect(Session& s, uint64_t hello,
                                                 uint64_t acked) {
  // What the direct link decides from here on is its own.
  s.cursor = std::max(s.cursor, acked);
  // Batches whose whole range the member committed: through `hello` it
  // committed them before the direct session sent anything (so from our
  // sealed batches: recorded as delivered now, once); beyond, the direct
  // session sent their entries again and records its own deliveries (so
  // they are only dropped, or a record would be audited twice).
  auto delivered = std::make_shared<std::vector<SentRecord>>();
  uint64_t delivered_up_to = 0, last_pair = 0;
  size_t batches = 0;
  while (!s.in_flight.empty() && s.in_flight.front().up_to <= acked) {
    auto& f = s.in_flight.front();
    if (f.up_to <= hello) {
      delivered->insert(delivered->end(),
                        std::make_move_iterator(f.sent.begin()),
                        std::make_move_iterator(f.sent.end()));
      delivered_up_to = f.up_to;
    }
    if (f.pair_seq != 0) {
      last_pair = f.pair_seq;
      ++batches;
    }
    s.in_flight.pop_front();
  }
  if (batches == 0 && delivered_up_to == 0) co_return true;
  PageContext ctx{deps_.store, nullptr, nullptr, deps_.identity, Now()};
  const PeerInfo peer = s.peer;
  auto settle = [ctx, peer, delivered, delivered_up_to,
                 last_pair]() -> Status {
    if (delivered_up_to != 0) {
      CARAVAN_RETURN_IF_ERROR(
          RecordAcknowledged(ctx, peer, delivered_up_to, *delivered, 0, 0));
    }
    if (last_pair == 0) return Status::Ok();
    return ctx.store->Write([&](store::WriteTxn& txn) -> Status {
      auto rows = txn.SealedOutboxReceipted(peer.key, last_pair);
      return rows.ok() ? Status::Ok() : rows.status();
    }).get();
  };
  Status settled = *co_await Offload(*deps_.pool, std::move(settle));
  if (!settled.ok()) {
    LogError("sealed sync with ", s.peer.name, ": ", settled.message());
    co_return false;
  }
  LogInfo("sealed sync with ", s.peer.name, ": ", batches,
          " sealed batches settled by its direct link (committed through our "
          "log entry ", acked, "); nothing is sealed to it while that link "
          "is up");
  co_return true;
}

awaitable<bool> SyncEngine::OnSealedAck(Session& s,
                                        const protocol::PublicKey& recipient,
                                        uint64_t up_to,
                                        const std::string& refused,
                                        uint64_t hub_seq,
                                        const store::HubEnvelopeId& id) {
  if (hub_seq != 0) {
    // We are the hub; the recipient committed through hub_seq.
    store::Store* store = deps_.store;
    const PeerInfo peer = s.peer;
    auto delivered = [store, peer, hub_seq] {
      return HubDelivered(store, peer, hub_seq);
    };
    auto removed = *co_await Offload(*deps_.pool, std::move(delivered));
    if (!removed.ok()) {
      LogError("hub queue for ", s.peer.name, ": ", removed.status().message());
      co_return false;
    }
    while (!s.hub_in_flight.empty() && s.hub_in_flight.front() <= hub_seq) {
      s.hub_in_flight.pop_front();
    }
    s.Poke();
    co_return true;
  }
  Session* target = nullptr;
  for (auto& r : s.relayed) {
    if (r->peer.key == recipient) target = r.get();
  }
  // The hub's word on one of our receipts (not in flight) needs nothing.
  Session::InFlight* batch = nullptr;
  if (target != nullptr) {
    for (auto& f : target->in_flight) {
      if (f.pair_seq != 0 && f.envelope_id == id) batch = &f;
    }
  }
  if (batch == nullptr) co_return true;
  if (!refused.empty()) {
    LogWarning("hub ", s.peer.name, " refused our sealed batch for ",
               target->peer.name, ": ", refused);
    target->hub_refused = true;
    target->Poke();
    co_return true;
  }
  // Queued at the hub: only that. The deliveries wait for the receipt.
  (void)up_to;
  batch->queued_at_hub = true;
  store::Store* store = deps_.store;
  const protocol::PublicKey key = target->peer.key;
  const uint64_t pair_seq = batch->pair_seq;
  auto mark = [store, key, pair_seq] {
    return store->Write([&](store::WriteTxn& txn) {
      return txn.SealedOutboxQueued(key, pair_seq);
    }).get();
  };
  Status marked = *co_await Offload(*deps_.pool, std::move(mark));
  if (!marked.ok()) {
    LogError("recording the hub's acknowledgement for ", target->peer.name,
             ": ", marked.message());
    co_return false;
  }
  target->Poke();
  co_return true;
}

// ---- Prekeys (forward secrecy, docs/federation.md "Prekeys") -----------

namespace {

// A statement is valid for two rotation periods, so one fetched just
// before a rotation still serves a sender that is offline for a while.
std::chrono::seconds PrekeyValidity(const protocol::NodeConfig& c) {
  return c.hub.prekey_rotate * 2;
}

// How often the prekey loop looks: a quarter of the shorter period,
// between 1 s and 1 min (rotation and erasure are at most that late).
std::chrono::seconds PrekeyTick(const protocol::NodeConfig& c) {
  const auto shorter = std::min(c.hub.prekey_rotate, c.hub.prekey_grace);
  return std::clamp<std::chrono::seconds>(shorter / 4, std::chrono::seconds(1),
                                          std::chrono::seconds(60));
}

struct PrekeyStep {
  std::optional<PrekeyStatement> rotated;
  size_t erased = 0;
};

// Erases the secrets past their grace and makes a new prekey when none is
// current or the current one is `rotate` old; audits either (the id and
// validity of a new prekey, how many secrets went; never a secret).
Result<PrekeyStep> RunPrekeyStep(PrekeyKeyring& ring, store::Store& store,
                                 std::chrono::seconds rotate,
                                 std::chrono::seconds grace,
                                 std::chrono::seconds validity) {
  const int64_t now = Now();
  PrekeyStep out;
  auto erased = ring.EraseExpired(now, grace);
  if (!erased.ok()) return erased.status();
  out.erased = *erased;
  const auto current = ring.Current(now);
  if (!current || now >= current->not_before + rotate.count()) {
    auto made = ring.Rotate(now, validity);
    if (!made.ok()) return made.status();
    out.rotated = *made;
  }
  if (!out.rotated && out.erased == 0) return out;
  Status audited = store.Write([&](store::WriteTxn& txn) -> Status {
    if (out.erased > 0) {
      auto a = txn.AppendAudit({txn.now(), "node", "prekey_erase", "", "",
                                AuditDetailJson({{"erased", out.erased}})});
      if (!a.ok()) return a.status();
    }
    if (out.rotated) {
      nlohmann::json detail = {{"prekey_id", out.rotated->prekey_id},
                               {"not_before", out.rotated->not_before},
                               {"not_after", out.rotated->not_after}};
      auto a = txn.AppendAudit({txn.now(), "node", "prekey_rotate",
                                std::to_string(out.rotated->prekey_id), "",
                                AuditDetailJson(detail)});
      if (!a.ok()) return a.status();
    }
    return Status::Ok();
  }).get();
  if (!audited.ok()) return audited;
  if (out.erased > 0) {
    LogInfo("prekeys: erased ", out.erased,
            " prekey secrets past their grace period");
  }
  return out;
}

}  // namespace

Status SyncEngine::StartPrekeys() {
  auto ring = PrekeyKeyring::Open(deps_.config->node.data_dir / "prekeys",
                                  *deps_.identity);
  if (!ring.ok()) return ring.status();
  prekeys_ = std::move(*ring);
  // The first step before any link opens: what expired while we were
  // down is erased before an envelope sealed to it can arrive, and the
  // first sessions have a statement to send.
  const auto& hub = deps_.config->hub;
  auto first = RunPrekeyStep(*prekeys_, *deps_.store, hub.prekey_rotate,
                             hub.prekey_grace, PrekeyValidity(*deps_.config));
  if (!first.ok()) return first.status();
  if (first->rotated) {
    LogInfo("prekeys: new prekey ", first->rotated->prekey_id,
            " valid until ", first->rotated->not_after);
  }
  if (hub.enabled) {
    // A restarted hub serves what it was given, re-checked, so a sender
    // can seal to a member that has not reconnected since.
    auto restored =
        RestoreHubPrekeyBook(*deps_.store, *deps_.roster(), Now());
    if (!restored.ok()) return restored.status();
    prekey_book_ = std::move(*restored);
    for (const auto& [member, statement] : prekey_book_) {
      UpdatePrekeyView(member);
    }
    if (!prekey_book_.empty()) {
      LogInfo("prekeys: serving ", prekey_book_.size(),
              " members' prekey statements kept by this hub");
    }
  }
  prekey_timer_ = std::make_shared<asio::steady_timer>(*deps_.io);
  asio::co_spawn(*deps_.io, PrekeyLoop(prekey_timer_), asio::detached);
  return Status::Ok();
}

awaitable<void> SyncEngine::PrekeyLoop(
    std::shared_ptr<asio::steady_timer> timer) {
  PrekeyKeyring* ring = prekeys_.get();
  store::Store* store = deps_.store;
  const auto rotate = deps_.config->hub.prekey_rotate;
  const auto grace = deps_.config->hub.prekey_grace;
  const auto validity = PrekeyValidity(*deps_.config);
  const auto tick = PrekeyTick(*deps_.config);
  for (;;) {
    timer->expires_after(tick);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(use_awaitable));
    if (ec) co_return;  // cancelled: the engine is going
    auto step = [ring, store, rotate, grace, validity] {
      return RunPrekeyStep(*ring, *store, rotate, grace, validity);
    };
    auto done = *co_await Offload(*deps_.pool, std::move(step));
    if (!done.ok()) {
      LogError("prekeys: ", done.status().message());
    } else if (done->rotated) {
      LogInfo("prekeys: new prekey ", done->rotated->prekey_id,
              " valid until ", done->rotated->not_after,
              "; publishing it on every link");
      PublishPrekey(*done->rotated, nullptr);
    }
    // Statements that expired are of no use to anyone.
    bool expired = false;
    for (auto it = prekey_book_.begin(); it != prekey_book_.end();) {
      if (it->second.not_after <= Now()) {
        const protocol::PublicKey member = it->first;
        it = prekey_book_.erase(it);
        UpdatePrekeyView(member);
        expired = true;
      } else {
        ++it;
      }
    }
    if (expired && deps_.config->hub.enabled) {
      // The hub's stored copies go with them (older ids of an owner
      // expire before its newest, so they go at the latest with it).
      auto prune = [store] { return PruneHubPrekeys(*store, Now()); };
      auto pruned = *co_await Offload(*deps_.pool, std::move(prune));
      if (!pruned.ok()) {
        LogError("prekeys: pruning the hub's prekey book: ",
                 pruned.status().message());
      }
    }
  }
}

std::optional<PrekeyStatement> SyncEngine::SealablePrekey(
    const protocol::PublicKey& member) const {
  auto it = prekey_book_.find(member);
  if (it == prekey_book_.end()) return std::nullopt;
  const int64_t now = Now();
  const PrekeyStatement& s = it->second;
  if (s.not_after <= now || s.not_before > now + kPrekeyClockSkewSeconds) {
    return std::nullopt;
  }
  return s;
}

void SyncEngine::NoteAwaitingPrekey(Session& s) {
  if (s.awaiting_prekey) return;
  s.awaiting_prekey = true;
  const bool first = awaiting_prekey_.insert(s.peer.key).second;
  UpdatePrekeyView(s.peer.key);
  if (!first) return;
  LogWarning("sealed sync with ", s.peer.name,
             ": no valid prekey of it is known; its batches wait (never "
             "sealed to its identity key)");
  const std::string name = s.peer.name, via = s.link->peer().name;
  // Audited once until a prekey arrives (TryWrite: never blocks the io
  // thread; a full queue loses this entry, the log line stays).
  (void)deps_.store->TryWrite([name, via](store::WriteTxn& txn) -> Status {
    auto a = txn.AppendAudit({txn.now(), "peer:" + name, "prekey_awaited",
                              name, via,
                              AuditDetailJson({{"recipient", name},
                                               {"via", via}})});
    return a.ok() ? Status::Ok() : a.status();
  });
}

void SyncEngine::PublishPrekey(const PrekeyStatement& statement,
                               const Session* except) {
  for (Session* other : sessions_) {
    if (other->sealed || other == except ||
        other->peer.key == statement.member_key) {
      continue;
    }
    // A newer statement of the same member replaces one not yet sent.
    auto& out = other->prekeys_out;
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const PrekeyStatement& q) {
                               return q.member_key == statement.member_key;
                             }),
              out.end());
    out.push_back(statement);
    other->Poke();
  }
}

awaitable<bool> SyncEngine::SendQueuedPrekeys(Session& s) {
  while (!s.prekeys_out.empty()) {
    const PrekeyStatement statement = s.prekeys_out.front();
    s.prekeys_out.pop_front();
    capnp::MallocMessageBuilder message;
    FillPrekeyStatement(
        statement, message.initRoot<protocol::wire::PeerMessage>().initPrekey());
    Status sent = co_await SendMessage(s, message);
    if (!sent.ok()) co_return false;
  }
  co_return true;
}

awaitable<void> SyncEngine::OnPrekey(
    Session& s, const std::shared_ptr<PrekeyStatement>& statement) {
  if (statement->member_key == deps_.identity->public_key()) co_return;
  const auto roster = deps_.roster();
  if (roster->Find(statement->member_key) == nullptr) {
    // A hub passes every member's statement to every member; one of a
    // member we do not know is of no use to us (not an error).
    LogDebug("prekey statement via ", s.peer.name,
             " for a key not in our roster; ignored");
    co_return;
  }
  std::shared_ptr<const PrekeyStatement> held;
  if (auto it = prekey_book_.find(statement->member_key);
      it != prekey_book_.end()) {
    held = std::make_shared<PrekeyStatement>(it->second);
  }
  // The signature check runs on the worker pool, like every other.
  auto check = [statement, roster, held] {
    return CheckPrekeyStatement(*statement, *roster, Now(), held.get());
  };
  auto verdict = *co_await Offload(*deps_.pool, std::move(check));
  if (!verdict.ok()) {
    // A stale or replayed statement is what a hub can still do: it is
    // bounded by expiry and never used; logged, not a protocol breach.
    LogWarning("prekey statement via ", s.peer.name, " refused: ",
               verdict.status().message());
    co_return;
  }
  if (*verdict == PrekeyVerdict::kSame) co_return;
  // The book may have moved while we checked.
  if (auto it = prekey_book_.find(statement->member_key);
      it != prekey_book_.end() &&
      it->second.prekey_id >= statement->prekey_id) {
    co_return;
  }
  prekey_book_[statement->member_key] = *statement;
  if (deps_.config->hub.enabled) {
    // Kept before it is passed on: a hub restarted from here on still
    // serves it while its owner is offline. A failed write costs only
    // that (logged); the statement is served from memory meanwhile.
    store::Store* store = deps_.store;
    auto keep = [store, statement] { return KeepHubPrekey(*store, *statement); };
    Status kept = *co_await Offload(*deps_.pool, std::move(keep));
    if (!kept.ok()) {
      LogError("prekeys: keeping prekey ", statement->prekey_id, " of ",
               roster->Find(statement->member_key)->name,
               " in the hub's book: ", kept.message());
    }
  }
  awaiting_prekey_.erase(statement->member_key);
  UpdatePrekeyView(statement->member_key);
  LogInfo("prekey ", statement->prekey_id, " of ",
          roster->Find(statement->member_key)->name, " via ", s.peer.name,
          " (valid until ", statement->not_after, ")");
  for (Session* other : sessions_) {
    if (other->sealed && other->peer.key == statement->member_key) {
      other->awaiting_prekey = false;
      other->Poke();
    }
  }
  if (deps_.config->hub.enabled) PublishPrekey(*statement, &s);
}

void SyncEngine::UpdatePrekeyView(const protocol::PublicKey& member) {
  PrekeyView view;
  if (auto it = prekey_book_.find(member); it != prekey_book_.end()) {
    view.id = it->second.prekey_id;
    view.not_after = it->second.not_after;
  }
  view.awaiting = awaiting_prekey_.count(member) > 0;
  std::lock_guard lock(views_mu_);
  views_[member] = view;
}

std::map<protocol::PublicKey, SyncEngine::PrekeyView> SyncEngine::PrekeyViews()
    const {
  std::lock_guard lock(views_mu_);
  return views_;
}

awaitable<bool> SyncEngine::ResealFrom(Session& s, uint64_t from) {
  const std::optional<PrekeyStatement> prekey = SealablePrekey(s.peer.key);
  if (!prekey) co_return true;  // sent as they are; the loop then waits
  // Each batch from `from` on, in chain order: sealed again when it was
  // sealed to another prekey, or when the one before it was sealed again
  // (its hash, which this one chains to, changed).
  std::optional<ChainHash> new_prev;
  size_t resealed = 0;
  // By pair seq, not by reference: a receipt read while we seal may take
  // batches out of the window.
  std::vector<uint64_t> batches;
  for (const auto& f : s.in_flight) {
    if (f.pair_seq != 0 && f.pair_seq >= from) batches.push_back(f.pair_seq);
  }
  auto find = [&s](uint64_t pair_seq) -> Session::InFlight* {
    for (auto& g : s.in_flight) {
      if (g.pair_seq == pair_seq) return &g;
    }
    return nullptr;
  };
  for (const uint64_t pair_seq : batches) {
    const Session::InFlight* found = find(pair_seq);
    if (found == nullptr) break;
    const Session::InFlight& f = *found;
    const bool stale = f.prekey_id != prekey->prekey_id;
    if (!stale && !new_prev) continue;
    if (f.reseal.size() < sizeof(ChainHash)) {
      // A row of an older version: it cannot be sealed again. Sent as it
      // is; if it was chained to one sealed again the recipient sees a
      // broken chain (audited there) and applies it anyway.
      LogWarning("sealed sync with ", s.peer.name, ": batch ", f.pair_seq,
                 " cannot be sealed again (no reseal data); sent as it is");
      break;
    }
    auto header = InspectSealed(f.envelope, f.envelope.size());
    if (!header.ok()) break;
    SealedHeaderInfo h = *header;
    h.envelope_id = NewEnvelopeId();
    h.recipient_key_id = PrekeyKeyId(prekey->prekey_id);
    ChainLink link{f.pair_seq, {}};
    if (new_prev) {
      link.prev_hash = *new_prev;
    } else {
      std::copy_n(f.reseal.begin(), link.prev_hash.size(),
                  link.prev_hash.begin());
    }
    auto batch = std::make_shared<std::vector<uint8_t>>(
        f.reseal.begin() + sizeof(ChainHash), f.reseal.end());
    auto notices = std::make_shared<std::vector<CompromiseNotice>>(f.notices);
    const crypto::IdentityKey* identity = deps_.identity;
    store::Store* store = deps_.store;
    const crypto::X25519PublicKey to = prekey->prekey_public;
    const size_t max_bytes =
        std::min<size_t>(deps_.config->hub.max_envelope_bytes,
                         deps_.config->peers.max_message_bytes - 1024);
    using Resealed = std::pair<std::vector<uint8_t>, std::vector<uint8_t>>;
    auto reseal = [h, link, batch, identity, store, to, max_bytes,
                   notices]() -> Result<Resealed> {
      auto envelope = SealEncodedBatch(h, link, *batch, *identity, max_bytes,
                                       &to, *notices);
      if (!envelope.ok()) return envelope.status();
      std::vector<uint8_t> data(link.prev_hash.begin(), link.prev_hash.end());
      data.insert(data.end(), batch->begin(), batch->end());
      const ChainHash hash = EnvelopeHash(*envelope);
      Status kept = store->Write([&](store::WriteTxn& txn) {
        return txn.SealedOutboxResealed(h.recipient_key, link.pair_seq,
                                        *envelope, data, hash);
      }).get();
      if (!kept.ok()) return kept;
      return Resealed{std::move(*envelope), std::move(data)};
    };
    auto done = *co_await Offload(*deps_.pool, std::move(reseal));
    if (!done.ok()) {
      LogError("sealing batch ", pair_seq, " for ", s.peer.name,
               " again: ", done.status().message());
      co_return false;
    }
    // A receipt read meanwhile may have taken it out of the window.
    Session::InFlight* again = find(pair_seq);
    if (again == nullptr) break;
    again->envelope = std::move(done->first);
    again->reseal = std::move(done->second);
    again->hash = EnvelopeHash(again->envelope);
    again->envelope_id = h.envelope_id;
    again->prekey_id = prekey->prekey_id;
    again->queued_at_hub = false;
    new_prev = again->hash;
    if (pair_seq == s.chain_seq) s.chain_hash = again->hash;
    ++resealed;
  }
  if (resealed > 0) {
    LogInfo("sealed sync with ", s.peer.name, ": sealed ", resealed,
            " batches again to its prekey ", prekey->prekey_id);
  }
  co_return true;
}

// ---- Identity key rotation (h-ident; docs/federation.md) ---------------

void SyncEngine::QueueHeldRotations(Session& s) {
  if (s.sealed) return;
  for (const auto& statement : deps_.roster()->chains().All()) {
    s.rotations_out.push_back(crypto::EncodeRotationStatement(statement));
  }
}

awaitable<bool> SyncEngine::SendQueuedRotations(Session& s) {
  while (!s.rotations_out.empty()) {
    const std::vector<uint8_t> statement = std::move(s.rotations_out.front());
    s.rotations_out.pop_front();
    capnp::MallocMessageBuilder message;
    message.initRoot<protocol::wire::PeerMessage>().setIdentityRotation(
        kj::arrayPtr(statement.data(), statement.size()));
    Status sent = co_await SendMessage(s, message);
    if (!sent.ok()) co_return false;
  }
  co_return true;
}

void SyncEngine::PublishIdentityRotation(std::vector<uint8_t> statement,
                                         std::string except_peer) {
  asio::post(*deps_.io, [this, statement = std::move(statement),
                         except_peer = std::move(except_peer)] {
    for (Session* other : sessions_) {
      if (other->sealed || other->peer.name == except_peer) continue;
      other->rotations_out.push_back(statement);
      other->Poke();
    }
  });
}

}  // namespace caravan::daemon::sync
