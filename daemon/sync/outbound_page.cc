#include "daemon/sync/outbound_page.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "crypto/signing.h"
#include "daemon/observe/log.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/sync/decision_audit.h"
#include "daemon/sync/origin_trust.h"
#include "daemon/sync/record_signing.h"
#include "daemon/sync/unacked_page.h"

namespace caravan::daemon::sync {
namespace {

std::string RuleText(const policy::Rule& r) {
  return r.file.empty() ? r.key : r.file + ":" + r.key;
}

struct Held {
  store::Withheld row;
  bool deferred = false;
  policy::Rule rule;  // row.rule is its "FILE:KEY" text
  protocol::IndicatorId id{};
};

// Decodes one stored log record for deciding (taking its signed record
// when the reader decoded it already).
Result<LogRecord> Decode(store::StoredRecord& stored) {
  protocol::SignedRecord record;
  if (stored.signed_record) {
    record = std::move(*stored.signed_record);
  } else {
    auto decoded = protocol::DecodeSignedRecord(stored.signed_bytes);
    if (!decoded.ok()) return decoded.status();
    record = std::move(*decoded);
  }
  // Our store's bytes: their canonical form was checked when they
  // entered, and the decision is made on what they say.
  auto body = protocol::DecodeStoredRecordBody(record.body);
  if (!body.ok()) return body.status();
  return LogRecord{stored.seq, stored.id, std::move(record), std::move(*body),
                   stored.received_from};
}

// The body of the withdrawal of what the peer holds (our own revision,
// whose full variant 0 is in our store) at `current`'s revision; nullopt
// when that revision is no longer stored.
Result<std::optional<std::vector<uint8_t>>> WithdrawalBody(
    store::Reader& reader, const LogRecord& current,
    const policy::HeldRevision& held_revision) {
  auto bytes = reader.GetRecordBytes(current.id, held_revision.revision, 0);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) {
      return std::optional<std::vector<uint8_t>>();
    }
    return bytes.status();
  }
  store::StoredRecord stored;
  stored.signed_bytes = std::move(*bytes);
  auto held = Decode(stored);
  if (!held.ok()) return held.status();
  return std::optional<std::vector<uint8_t>>(
      BuildWithdrawalBody(current.body, held->body, held_revision.variant));
}

}  // namespace

Result<policy::HeldRevision> ReadHeld(store::Reader& reader, const store::Delivery& d,
                                      bool with_content) {
  policy::HeldRevision held{d.revision, d.variant, d.variant == kWithdrawalVariant,
                            std::nullopt};
  if (!with_content) return held;
  auto bytes = reader.GetRecordBytes(d.id, d.revision, d.variant);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) return held;
    return bytes.status();
  }
  store::StoredRecord stored;
  stored.signed_bytes = std::move(*bytes);
  auto record = Decode(stored);
  if (!record.ok()) return record.status();
  held.content = std::move(record->body.indicator);
  return held;
}

namespace {

// Signs the page's records of our own that need our signature (variants,
// withdrawals; with ctx.resign_own every record of ours) as one Merkle batch
// with seeded salts; a lone record that needs it gets a single signature.
// Nothing unsigned leaves this function.
struct OwnSend {
  size_t index = 0;  // into page.sends
  bool must_sign = false;  // its signature is a placeholder
};
void SignOwnSends(const PageContext& ctx, OutboundPage& page,
                  const std::vector<OwnSend>& own) {
  if (own.empty()) return;
  if (own.size() == 1) {
    if (!own[0].must_sign) return;
    auto& record = page.sends[own[0].index].second;
    record.signature =
        crypto::Sign(*ctx.identity, crypto::SignDomain::kRecord, record.body);
    return;
  }
  PageBatch batch;
  batch.origin = ctx.identity->public_key();
  randombytes_buf(batch.salt_seed.data(), batch.salt_seed.size());
  std::vector<std::span<const uint8_t>> leaves;
  leaves.reserve(own.size());
  for (const auto& o : own) {
    leaves.emplace_back(page.sends[o.index].second.body);
    batch.members.push_back(o.index);
  }
  crypto::SignedBatch signed_batch =
      crypto::SignSeededBatch(*ctx.identity, leaves, batch.salt_seed);
  for (size_t k = 0; k < own.size(); ++k) {
    page.sends[own[k].index].second.signature = ToBatchProof(
        std::move(signed_batch.proofs[k]), signed_batch.root_signature);
  }
  batch.root_signature = signed_batch.root_signature;
  page.batches.push_back(std::move(batch));
}

// Decides `records` for `peer`, filling `page` and `held` (taking the
// records' decoded signed records).
Status DecideAll(const PageContext& ctx, store::Reader& reader,
                 const PeerInfo& peer,
                 std::vector<store::StoredRecord>& records,
                 uint64_t log_end, OutboundPage& page,
                 std::vector<Held>& held) {
  auto quota = reader.QuotaCount(peer.country, store::UtcDay(ctx.now));
  if (!quota.ok()) return quota.status();
  uint64_t sent_today = *quota;
  // One question per page instead of one lookup per record when no
  // indicator matched a warninglist. Asked after the page's records were
  // read, and a hit commits with its record, so none is missed.
  auto any_hits = reader.HasWarninglistHits();
  if (!any_hits.ok()) return any_hits.status();
  // Removed members and compromised keys (issue 16): a few rows, read once.
  auto trust = reader.GetMemberTrust();
  if (!trust.ok()) return trust.status();
  const protocol::PublicKey self = ctx.identity->public_key();
  std::vector<OwnSend> own;  // signed together after the loop
  for (auto& stored : records) {
    // The loop-prevention skips of DecideOutbound, before paying for the
    // decode: what a peer sent us comes back in every page of its session
    // (LogRange for that peer leaves out their bytes).
    if (stored.origin == peer.key ||
        (ctx.chains && ctx.chains->CurrentKey(stored.origin) == peer.key) ||
        (stored.received_from && *stored.received_from == peer.name)) {
      page.settled.push_back(stored.seq);
      continue;
    }
    // Only current revisions leave (docs/policy.md): a superseded entry is
    // skipped and the later entry of its indicator decides.
    if (stored.superseded) {
      page.settled.push_back(stored.seq);
      continue;
    }
    auto entry = Decode(stored);
    if (!entry.ok()) {
      // Our own store handed us a record we cannot read: never send it.
      const policy::Rule unreadable{"(sync)", 0, "unreadable",
                                    entry.status().message()};
      held.push_back({{stored.seq, peer.name, RuleText(unreadable), 0, ctx.now},
                      false, unreadable, stored.id});
      continue;
    }
    if (*any_hits) {
      auto hit = reader.GetWarninglistHit(entry->id);  // warninglists.md
      if (!hit.ok()) return hit.status();
      entry->warninglist = std::move(*hit);
    }
    OutboundInputs in;
    in.policy = ctx.policy;
    in.identity = ctx.identity;
    in.chains = ctx.chains.get();
    in.now = ctx.now;
    in.sent_today = sent_today;
    in.origin_trust = OriginTrustOf(*trust, entry->body.origin, ctx.chains.get());
    if (entry->body.revision > 1) {
      auto deliveries = reader.Deliveries(entry->id);
      if (!deliveries.ok()) return deliveries.status();
      // A relayed revocation is judged against what the peer holds.
      const protocol::PublicKey origin_now =
          ctx.chains ? ctx.chains->CurrentKey(entry->body.origin) : entry->body.origin;
      const bool with_content = entry->body.indicator.revoked && origin_now != self;
      for (const auto& d : *deliveries) {
        if (d.peer != peer.name) continue;
        auto held_revision = ReadHeld(reader, d, with_content);
        if (!held_revision.ok()) return held_revision.status();
        in.held = std::move(*held_revision);
      }
    }
    OutboundChoice c = DecideOutbound(*entry, peer, in);
    if (c.kind == OutboundChoice::Kind::kWithdraw) {
      auto withdrawal = WithdrawalBody(reader, *entry, *in.held);
      if (!withdrawal.ok()) return withdrawal.status();
      if (*withdrawal) {
        page.sent.push_back({stored.seq, entry->id, entry->body.revision,
                             c.variant, c.rule, true, log_end, false});
        own.push_back({page.sends.size(), true});
        page.sends.emplace_back(
            stored.seq, protocol::SignedRecord{std::move(**withdrawal),
                                               std::array<uint8_t, 64>{}});
        continue;
      }
      // Our own earlier revision is gone from the store: nothing to build
      // the withdrawal from, so at least nothing new leaves.
      c.kind = OutboundChoice::Kind::kWithhold;
    }
    switch (c.kind) {
      case OutboundChoice::Kind::kSend:
        ++sent_today;
        page.sent.push_back({stored.seq, entry->id, entry->body.revision,
                             c.variant, c.rule, false, log_end, false});
        if (c.needs_signature ||
            (ctx.resign_own &&
             (entry->body.origin == self ||
              (ctx.chains && ctx.chains->CurrentKey(entry->body.origin) == self)))) {
          own.push_back({page.sends.size(), c.needs_signature});
        }
        page.sends.emplace_back(stored.seq, std::move(c.to_send));
        break;
      case OutboundChoice::Kind::kWithhold:
      case OutboundChoice::Kind::kDefer:
        held.push_back({{stored.seq, peer.name, RuleText(c.rule), c.retry_at,
                         ctx.now},
                        c.kind == OutboundChoice::Kind::kDefer,
                        c.rule,
                        entry->id});
        break;
      case OutboundChoice::Kind::kSkip:
      case OutboundChoice::Kind::kWithdraw:
        page.settled.push_back(stored.seq);
        break;
    }
  }
  SignOwnSends(ctx, page, own);
  return Status::Ok();
}

// Writes the withheld entries (auditing new or changed ones), the entries
// sent from the withheld table (kept until acknowledged, retry_at 0), the
// quota and, for a page of new log entries (`advance`), the cursor and what
// the page sends (unacked_pages), in one transaction.
Status Persist(const PageContext& ctx, const PeerInfo& peer,
               const OutboundPage& page, const std::vector<Held>& held,
               const std::vector<uint64_t>& released,
               const std::vector<store::Withheld>& in_flight, bool advance) {
  // Encoded here, on the pool thread: the store's writer thread is the one
  // every write waits for.
  const bool record_sent = advance && page.up_to_seq > 0 && !page.sent.empty();
  const std::string unacked = record_sent ? EncodeUnackedPage(page.sent) : "";
  return ctx.store->Write([&](store::WriteTxn& txn) -> Status {
    for (const auto& w : in_flight) {
      CARAVAN_RETURN_IF_ERROR(txn.AddWithheld(w));
    }
    std::vector<store::AuditEvent> audit;
    audit.reserve(held.size());
    for (const auto& h : held) {
      CARAVAN_RETURN_IF_ERROR(txn.AddWithheld(h.row));
      audit.push_back({txn.now(), "node", h.deferred ? "defer" : "withhold",
                       protocol::IdToHex(h.id), peer.name,
                       AuditDetailJson({{"seq", h.row.seq},
                                        {"country", peer.country},
                                        {"rule", RuleJson(h.rule)},
                                        {"reason", h.rule.reason},
                                        {"retry_at", h.row.retry_at}})});
    }
    // One read and one move of the audit chain head for the whole page.
    if (!audit.empty()) {
      auto a = txn.AppendAudits(audit);
      if (!a.ok()) return a.status();
    }
    for (uint64_t seq : released) {
      CARAVAN_RETURN_IF_ERROR(txn.RemoveWithheld(seq, peer.name));
    }
    // Withdrawals take back what a peer holds: they never use its quota.
    const auto counted = std::count_if(
        page.sent.begin(), page.sent.end(),
        [](const SentRecord& s) { return !s.withdrawal; });
    if (counted > 0) {
      auto q = txn.AddQuota(peer.country, store::UtcDay(ctx.now),
                            static_cast<uint64_t>(counted));
      if (!q.ok()) return q.status();
    }
    if (advance && page.up_to_seq > 0) {
      CARAVAN_RETURN_IF_ERROR(txn.AdvanceDecided(peer.name, page.up_to_seq));
      if (record_sent) {
        CARAVAN_RETURN_IF_ERROR(
            txn.PutUnackedPage(peer.name, page.up_to_seq, unacked));
      }
    }
    return Status::Ok();
  }).get();
}

// Counts committed withhold/defer decisions by rule (only new or changed
// ones reach here, so a policy re-run does not count a record twice).
void CountWithheld(const PageContext& ctx, const std::vector<Held>& held) {
  if (ctx.metrics == nullptr) return;
  for (const auto& h : held) ctx.metrics->records_withheld.With({h.row.rule}).Inc();
}

// A revision that was superseded while it was in flight: its current
// record may have been decided while the peer held nothing (a withhold, or
// a revocation kept from a non-holder). Mark that record due now, so the
// periodic re-decision judges it again with the delivery just recorded
// (a withdrawal, an update or a revocation reaches the new holder).
Status RedecideSupersededInFlight(store::WriteTxn& txn, const PeerInfo& peer,
                                  const std::vector<SentRecord>& sent) {
  if (sent.empty()) return Status::Ok();
  uint64_t log_end = UINT64_MAX;
  for (const auto& s : sent) log_end = std::min(log_end, s.log_end);
  // Nothing was stored since these records were decided (as current): none
  // can be superseded. The common case, and the whole of a catch-up from a
  // quiet origin, where a lookup per record would cost a sixth of the rate.
  auto last = txn.LastLogSeq();
  if (!last.ok()) return last.status();
  if (*last <= log_end) return Status::Ok();
  for (const auto& s : sent) {
    auto cur = txn.Current(s.id);
    if (!cur.ok()) return cur.status();
    if (!*cur || (*cur)->record_seq == s.seq ||
        (*cur)->revision <= s.revision) {
      continue;
    }
    CARAVAN_RETURN_IF_ERROR(txn.AddWithheld(
        {(*cur)->record_seq, peer.name, "(sync):superseded_in_flight",
         txn.now(), txn.now()}));
  }
  return Status::Ok();
}

}  // namespace

void AppendPage(OutboundPage& page, OutboundPage&& other) {
  const size_t offset = page.sends.size();
  for (auto& batch : other.batches) {
    for (auto& m : batch.members) m += offset;
    page.batches.push_back(std::move(batch));
  }
  for (auto& item : other.sends) page.sends.push_back(std::move(item));
  for (auto& item : other.sent) page.sent.push_back(std::move(item));
}

Result<OutboundPage> DecideNextPage(const PageContext& ctx,
                                    const PeerInfo& peer, uint64_t after_seq,
                                    size_t limit) {
  store::Reader* reader = ctx.reader;
  // Read before the page, so it is never past what the page saw.
  auto log_end = reader->LastLogSeq();
  if (!log_end.ok()) return log_end.status();
  // One entry more than the page: `full` then means "more log after this
  // page", so the page that ends the log is never a silent one.
  auto records = reader->LogRange(after_seq, limit + 1,
                                  store::Reader::LogReader{peer.name, peer.key});
  if (!records.ok()) return records.status();
  OutboundPage page;
  if (records->empty()) return page;
  page.full = records->size() > limit;
  if (page.full) records->pop_back();
  page.up_to_seq = records->back().seq;
  std::vector<Held> held;
  CARAVAN_RETURN_IF_ERROR(
      DecideAll(ctx, *reader, peer, *records, *log_end, page, held));
  // A full page with nothing to send or hold (everything skipped, e.g. the
  // peer's own records) writes nothing: decided_seq catches up with the
  // next page that writes, and deciding it again is idempotent.
  if (held.empty() && page.sends.empty() && page.full) return page;
  CARAVAN_RETURN_IF_ERROR(Persist(ctx, peer, page, held, {}, {}, true));
  CountWithheld(ctx, held);
  return page;
}

Result<OutboundPage> RedecideWithheld(const PageContext& ctx,
                                      const PeerInfo& peer, bool all,
                                      uint64_t after, uint64_t* next_after) {
  constexpr size_t kWithheldPage = 1000;
  store::Reader* reader = ctx.reader;
  *next_after = 0;
  auto log_end = reader->LastLogSeq();  // before the entries (see SentRecord)
  if (!log_end.ok()) return log_end.status();
  // A full re-run pages through this peer's entries; the periodic check
  // only asks the retry_at index for what is due.
  auto withheld = all ? reader->WithheldForPeer(peer.name, after,
                                                kWithheldPage)
                      : reader->WithheldDue(ctx.now, kWithheldPage);
  if (!withheld.ok()) return withheld.status();
  if (all && withheld->size() == kWithheldPage) {
    *next_after = withheld->back().seq;
  }
  std::vector<store::StoredRecord> records;
  std::map<uint64_t, store::Withheld> previous;
  for (const auto& w : *withheld) {
    if (w.peer != peer.name) continue;
    auto one = reader->LogRange(w.seq - 1, 1,
                                store::Reader::LogReader{peer.name, peer.key});
    if (!one.ok()) return one.status();
    if (one->empty() || one->front().seq != w.seq) continue;
    records.push_back(std::move(one->front()));
    previous[w.seq] = w;
  }
  OutboundPage page;
  if (records.empty()) return page;
  std::vector<Held> held;
  CARAVAN_RETURN_IF_ERROR(
      DecideAll(ctx, *reader, peer, records, *log_end, page, held));
  // Only changed decisions are written again (and audited); unchanged ones
  // stay as they are, so a reload does not flood the audit log.
  std::erase_if(held, [&](const Held& h) {
    const auto& p = previous[h.row.seq];
    return p.rule == h.row.rule && p.retry_at == h.row.retry_at;
  });
  // What goes now keeps its withheld row (retry_at 0: not due again by
  // time) until the peer acknowledges it: stopped before that, the daemon
  // re-decides it at the next session's start and sends it again.
  std::vector<store::Withheld> in_flight;
  for (auto& s : page.sent) {
    s.from_withheld = true;
    store::Withheld w = previous[s.seq];
    w.retry_at = 0;
    in_flight.push_back(std::move(w));
  }
  CARAVAN_RETURN_IF_ERROR(
      Persist(ctx, peer, page, held, page.settled, in_flight, false));
  CountWithheld(ctx, held);
  return page;
}

namespace {

// The deliveries and "share"/"withdraw" audit entries of `sent`, which the
// peer committed; entries re-sent from the withheld table leave it.
Status RecordDeliveries(store::WriteTxn& txn, const PeerInfo& peer,
                        const std::vector<SentRecord>& sent) {
  DecisionAudit shares(txn.now(), "node", peer.name, peer.country);
  for (const auto& s : sent) {
    CARAVAN_RETURN_IF_ERROR(txn.RecordDelivery(
        {s.id, peer.name, s.revision, s.variant, txn.now(), s.seq}));
    if (s.from_withheld) {
      CARAVAN_RETURN_IF_ERROR(txn.RemoveWithheld(s.seq, peer.name));
    }
    shares.Add(s.withdrawal ? "withdraw" : "share", s.rule,
               {s.id, s.revision, s.variant, s.seq, {}});
  }
  CARAVAN_RETURN_IF_ERROR(RedecideSupersededInFlight(txn, peer, sent));
  if (!shares.empty()) {
    auto a = txn.AppendAudits(shares.Take());
    if (!a.ok()) return a.status();
  }
  return Status::Ok();
}

}  // namespace

Status RecordAcknowledged(const PageContext& ctx, const PeerInfo& peer,
                          uint64_t acked_seq,
                          const std::vector<SentRecord>& sent,
                          uint64_t bytes_sent, uint64_t bytes_received) {
  return ctx.store->Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(RecordDeliveries(txn, peer, sent));
    CARAVAN_RETURN_IF_ERROR(txn.DropUnackedPages(peer.name, acked_seq));
    CARAVAN_RETURN_IF_ERROR(txn.AdvanceAcked(peer.name, acked_seq));
    return txn.RecordContact(peer.name, txn.now(), bytes_sent,
                             bytes_received);
  }).get();
}

Status RecoverAcknowledged(const PageContext& ctx, const PeerInfo& peer,
                           uint64_t peer_acked) {
  return ctx.store->Write([&](store::WriteTxn& txn) -> Status {
    auto pages = txn.TakeUnackedPages(peer.name);
    if (!pages.ok()) return pages.status();
    std::vector<SentRecord> committed;
    for (const auto& [up_to, text] : *pages) {
      if (up_to > peer_acked) break;  // not committed: decided again
      auto sent = DecodeUnackedPage(text);
      if (!sent.ok()) {
        // Our own row, unreadable: losing its audit detail is better than
        // refusing every session with this peer from now on.
        LogError("sync with ", peer.name, ": dropping the unreadable record "
                 "of page ", up_to, ": ", sent.status().message());
        continue;
      }
      committed.insert(committed.end(),
                       std::make_move_iterator(sent->begin()),
                       std::make_move_iterator(sent->end()));
    }
    if (committed.empty()) {
      // A page that sent nothing (every entry withheld or skipped) leaves
      // no unacked row; its acknowledgement can be lost with the link it
      // crossed. The peer's Hello says it committed it: without this, our
      // acked point stayed behind with nothing left to send that would
      // move it (a backlog of 1 that never drained, seen in the
      // federation property test).
      return txn.AdvanceAckedWithinDecided(peer.name, peer_acked);
    }
    LogNotice("sync with ", peer.name, ": recording ", committed.size(),
              " deliveries it committed before we last stopped");
    CARAVAN_RETURN_IF_ERROR(RecordDeliveries(txn, peer, committed));
    return txn.AdvanceAcked(peer.name, peer_acked);
  }).get();
}

}  // namespace caravan::daemon::sync
