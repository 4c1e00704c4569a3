// Compromise notices over the links (issue 16, docs/federation.md
// "Compromise"): SyncEngine's sending of the notices this node issued and
// its checking and applying of the ones peers send, per [inbound]
// act_on_compromise_notices. Every received notice is audited (actor
// "peer:NAME") whether it was applied, ignored or refused, and counted in
// caravan_member_trust_events_total.
#include <capnp/message.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <ctime>

#include "crypto/key_text.h"
#include "protocol/config/roster_file.h"
#include "daemon/observe/log.h"
#include "daemon/observe/metrics.h"
#include "daemon/sync/decision_audit.h"
#include "daemon/sync/notice_apply.h"
#include "daemon/sync/offload.h"
#include "daemon/sync/sync_engine.h"

namespace caravan::daemon::sync {
namespace {

using On = protocol::NodeConfig::Inbound::OnCompromiseNotice;

}  // namespace

// g++ 12 false positive on Asio's coroutine frame allocator (GCC bug
// 109224; see daemon/link/handshake.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
boost::asio::awaitable<bool> SyncEngine::SendStoredNotices(
    Session& s, store::Reader& session_reader, link::Link& link,
    const std::string& peer_name) {
  store::Reader* reader = &session_reader;
  const std::string peer = peer_name;
  auto read = [reader, peer] { return reader->PendingNoticesFor(peer); };
  auto pending = *co_await Offload(*deps_.pool, std::move(read));
  if (!pending.ok()) {
    LogError("compromise notices for ", peer, ": ", pending.status().message());
    co_return false;  // the session ends; the next one reads them again
  }
  if (pending->malformed > 0) {
    LogWarning("compromise notices for ", peer, ": ", pending->malformed,
               " malformed stored rows skipped");
  }
  if (pending->rows.empty()) co_return true;
  std::vector<std::array<uint8_t, 32>> done;  // sent, or unreadable
  size_t sent = 0;
  for (const auto& row : pending->rows) {
    auto notice = DecodeCompromiseNotice(row.notice);
    if (!notice.ok()) {
      // We encoded it: only a damaged store gets here. Never sendable.
      LogWarning("compromise notice for ", peer, " dropped: stored bytes ",
                 notice.status().message());
      done.push_back(row.digest);
      continue;
    }
    if (notice->issuer != deps_.identity->public_key()) {
      // Issued before our identity key rotated (the row waited through the
      // reload): peers pin only our current key, the newest of the chain,
      // so that key signs it again (same key, since and issue time).
      *notice = SignCompromiseNotice(*deps_.identity, notice->compromised,
                                     notice->since, notice->issued_at);
    }
    capnp::MallocMessageBuilder message;
    FillCompromiseNotice(
        *notice,
        message.initRoot<protocol::wire::PeerMessage>().initCompromiseNotice());
    Status status = co_await SendMessage(s, message);
    if (!status.ok()) co_return false;  // kept for the next session
    done.push_back(row.digest);
    ++sent;
    if (deps_.metrics != nullptr) {
      deps_.metrics->member_trust_events.With({"notice_sent"}).Inc();
    }
    LogNotice("compromise notice sent to ", peer);
  }
  // The protocol has no receipt for a notice: a ping after them, answered,
  // says the peer's link read them (a notice sent again later is refused
  // there as a replay, so a session that ends first costs one audit line).
  if (sent > 0 && !co_await link.RoundTrip()) co_return false;
  store::Store* store = deps_.store;
  auto forget = [store, peer, done] {
    return ForgetPendingNotices(*store, peer, done);
  };
  Status forgotten = *co_await Offload(*deps_.pool, std::move(forget));
  if (!forgotten.ok()) {
    // Sent and confirmed; the rows go out again next session (replays).
    LogError("compromise notices for ", peer, " sent but still stored: ",
             forgotten.message());
  } else if (sent > 0) {
    LogNotice("compromise notices to ", peer, " confirmed by its link: ", sent);
  }
  co_return true;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

boost::asio::awaitable<void> SyncEngine::OnCompromiseNotice(
    const std::string& peer,
    const std::shared_ptr<Result<CompromiseNotice>>& notice) {
  const auto roster = deps_.roster();
  const On act = deps_.config->inbound.act_on_compromise_notices;
  store::Store* store = deps_.store;
  const protocol::PublicKey self = deps_.identity->public_key();
  // Signature check and store write on the worker pool.
  auto apply = [notice, roster, act, store, peer, self] {
    return ApplyCompromiseNotice(*store, *roster, act, self,
                                 NoticeSource{peer, ""}, *notice,
                                 std::time(nullptr));
  };
  NoticeOutcome outcome = *co_await Offload(*deps_.pool, std::move(apply));
  AfterNotice(peer, outcome);
}

void SyncEngine::AfterNotice(const std::string& from,
                             const NoticeOutcome& outcome) {
  if (deps_.metrics != nullptr) {
    deps_.metrics->member_trust_events.With({outcome.event}).Inc();
  }
  if (outcome.result == "refused" || outcome.result == "error") {
    LogWarning("compromise notice from ", from, " not applied: ",
               outcome.reason);
  } else {
    LogNotice("compromise notice from ", from, ": ", outcome.result, " (",
              outcome.quarantined, " indicators quarantined)");
  }
  if (outcome.refuse_links && deps_.on_keys_compromised) {
    auto refuse = deps_.on_keys_compromised;
    boost::asio::post(*deps_.pool, [refuse] { refuse(); });
  }
}

}  // namespace caravan::daemon::sync
