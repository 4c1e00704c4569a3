#include "daemon/sync/inbound.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "crypto/key_text.h"
#include "daemon/observe/metrics.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_explain.h"
#include "daemon/sync/decision_audit.h"
#include "daemon/sync/origin_signer.h"
#include "daemon/sync/origin_trust.h"
#include "daemon/sync/warninglist_flag.h"

namespace caravan::daemon::sync {

RosterIndex::RosterIndex(std::vector<protocol::RosterMember> members,
                         KeyChains chains)
    : members_(chains.Apply(std::move(members))), chains_(std::move(chains)) {
  for (size_t i = 0; i < members_.size(); ++i) by_key_[members_[i].key] = i;
}

const protocol::RosterMember* RosterIndex::FindOrigin(
    const protocol::PublicKey& key) const {
  if (const auto* m = Find(key)) return m;
  return chains_.RetiredBy(key) ? Find(chains_.CurrentKey(key)) : nullptr;
}

const protocol::RosterMember* RosterIndex::Find(
    const protocol::PublicKey& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &members_[it->second];
}

CheckedMessage CheckInbound(const InboundContext& ctx,
                            std::shared_ptr<const RosterIndex> roster,
                            std::vector<InboundEntry> entries,
                            uint64_t up_to_seq) {
  CheckedMessage m;
  m.roster = std::move(roster);
  m.up_to_seq = up_to_seq;
  m.checked.reserve(entries.size());
  // A whole batch's leaves refused for one kind of reason become one
  // rejection (one audit entry) with a count and a sample of ids.
  std::map<std::pair<uint32_t, std::string>, size_t> batch_rejections;
  store::BatchLevelsCache levels;  // the message's batches, each once
  auto reject = [&](const InboundEntry& e, std::string subject, std::string reason,
                    std::string_view metric_reason) {
    if (e.batch) {
      // Grouped by reason; undecodable leaves by kind (their texts vary).
      std::string group = metric_reason == kRejectDecode ? std::string(metric_reason) : reason;
      auto [it, added] = batch_rejections.try_emplace({e.batch->batch_no, std::move(group)},
                                                      m.rejected.size());
      if (!added) {
        InboundRejection& r = m.rejected[it->second];
        ++r.count;
        r.sender_seq = std::min(r.sender_seq, e.sender_seq);
        r.last_sender_seq = std::max(r.last_sender_seq, e.sender_seq);
        if (r.sample.size() < kMaxRejectionSample && !subject.empty()) {
          r.sample.push_back(std::move(subject));
        }
        return;
      }
    }
    InboundRejection r;
    r.sender_seq = r.last_sender_seq = e.sender_seq;
    if (e.batch) {
      r.batch_origin = e.batch->origin;
      if (!subject.empty()) r.sample.push_back(subject);
    }
    r.subject = std::move(subject);
    r.reason = std::move(reason);
    r.metric_reason = metric_reason;
    m.rejected.push_back(std::move(r));
  };
  for (auto& e : entries) {
    auto body = protocol::DecodeRecordBody(e.record.body);
    if (!body.ok()) {
      reject(e, "", "malformed record: " + body.status().message(), kRejectDecode);
      continue;
    }
    const auto id = protocol::ComputeIndicatorId(
        body->origin, body->indicator.type, body->indicator.value);
    if (body->origin == ctx.self ||
        (ctx.roster != nullptr && ctx.roster->chains().CurrentKey(body->origin) == ctx.self)) {
      ++m.own_echoes;  // our own record coming back: we hold it already
      continue;
    }
    const protocol::RosterMember* origin = ctx.roster->FindOrigin(body->origin);
    if (origin == nullptr) {
      reject(e, protocol::IdToHex(id), "origin is not in the roster",
             kRejectUnknownOrigin);
      continue;
    }
    // The signer is the origin's key valid at `created` (key_chain.h).
    const SignerVerdict signer =
        e.batch ? CheckBatchSigner(ctx.roster->chains(), e.batch->origin, *body)
                : CheckRecordSigner(ctx.roster->chains(), e.record, *body, ctx.root_cache);
    if (signer == SignerVerdict::kRetiredKey) {
      reject(e, protocol::IdToHex(id), "signed by a retired identity key after its rotation",
             kRejectRetiredKey);
      continue;
    }
    if (e.batch) {
      // A whole batch's leaf: its root was checked once for the batch.
      if (signer != SignerVerdict::kGood) {
        reject(e, protocol::IdToHex(id),
               "record origin differs from the key that "
               "signed its batch",
               kRejectBadSignature);
        continue;
      }
      if (!e.batch->verified) {
        reject(e, protocol::IdToHex(id), "origin signature of its batch does not verify",
               kRejectBadSignature);
        continue;
      }
    } else if (signer != SignerVerdict::kGood) {
      reject(e, protocol::IdToHex(id), "origin signature does not verify",
             kRejectBadSignature);
      continue;
    }
    std::optional<crypto::MerkleSaltSeed> seed;
    std::shared_ptr<const std::vector<crypto::MerkleHash>> leaves;
    if (e.batch) {
      seed = e.batch->salt_seed;
      leaves = e.batch->leaf_hashes;
    }
    std::vector<uint8_t> signed_bytes = protocol::EncodeSignedRecord(e.record);
    auto prepared = store::PrepareReceivedForm(std::move(e.record), signed_bytes,
                                               body->origin, seed, leaves, levels);
    m.checked.push_back({std::move(*body), id, origin, std::move(signed_bytes),
                         seed, std::move(leaves), std::move(prepared)});
  }
  return m;
}

Result<InboundOutcome> ApplyInbound(const InboundContext& ctx,
                                    const PeerInfo& from,
                                    const std::vector<InboundEntry>& entries,
                                    uint64_t up_to_seq) {
  std::vector<CheckedMessage> one;
  one.push_back(CheckInbound(ctx, nullptr, entries, up_to_seq));
  return StoreInbound(ctx, from, one);
}

namespace {

// One StoreInbound transaction: decides and stores each checked record,
// collecting audit entries to append together (one read and one move of
// the chain head). Accepted and quarantined records are audited in batch
// entries (decision_audit.h), rejections one entry each.
class InboundWrite {
 public:
  InboundWrite(const InboundContext& ctx, const PeerInfo& from,
               store::WriteTxn& txn, const store::MemberTrust& trust)
      : ctx_(ctx),
        from_(from),
        txn_(txn),
        trust_(trust),
        actor_("peer:" + from.name),
        decisions_(txn.now(), actor_, from.name) {}

  InboundOutcome& outcome() { return out_; }

  Status Message(CheckedMessage& m) {
    out_.duplicates += m.own_echoes;
    for (const auto& r : m.rejected) {
      if (!r.batch_origin) {
        Reject(r.metric_reason, r.subject, 1,
               AuditDetailJson({{"sender_seq", r.sender_seq}, {"reason", r.reason}}));
        continue;
      }
      Reject(r.metric_reason, r.subject, r.count,
             AuditDetailJson({{"sender_seq", r.sender_seq},
                              {"last_sender_seq", r.last_sender_seq},
                              {"records", r.count},
                              {"batch_origin", crypto::ToHex(*r.batch_origin)},
                              {"sample_ids", r.sample},
                              {"reason", r.reason}}));
    }
    for (auto& c : m.checked) CARAVAN_RETURN_IF_ERROR(Record(c));
    return Status::Ok();
  }

  // Rejections first, then the batch entries of the accepted and
  // quarantined records: all of one transaction, at one time.
  Status FlushAudit() {
    for (auto& e : decisions_.Take()) audit_.push_back(std::move(e));
    if (audit_.empty()) return Status::Ok();
    auto appended = txn_.AppendAudits(audit_);
    audit_.clear();
    return appended.status();
  }

 private:
  void Reject(std::string_view metric_reason, std::string subject, size_t records,
              std::string detail) {
    out_.rejected += records;
    out_.rejected_by_reason[std::string(metric_reason)] += records;
    audit_.push_back({txn_.now(), actor_, "reject", std::move(subject),
                      from_.name, std::move(detail)});
  }

  Status Record(CheckedRecord& c) {
    auto current = txn_.Current(c.id);
    if (!current.ok()) return current.status();
    policy::InboundContext pctx;
    pctx.now = ctx_.now;
    // Not a relay when the sender made it under a key it rotated away
    // from (c.origin is the member with its current key).
    pctx.relayed = c.body.origin != from_.key && c.origin->key != from_.key;
    pctx.holds_indicator = current->has_value();
    auto decision =
        policy::EvaluateInbound(*ctx_.policy, c.body, c.origin->country, pctx);
    if (decision.verdict != policy::InboundDecision::Verdict::kReject) {
      // Signed by a key known compromised for its creation time: stored as
      // evidence, quarantined with the reason, whatever the policy says.
      const KeyChains* chains = ctx_.roster != nullptr ? &ctx_.roster->chains() : nullptr;
      if (auto rule = QuarantineOnArrival(trust_, chains, c.body)) {
        decision.verdict = policy::InboundDecision::Verdict::kQuarantine;
        decision.rule = std::move(*rule);
      }
    }
    // Only rejections (rare, each its own reason) get an entry each.
    auto rejection = [&](const protocol::RecordBody& body, const std::string& reason) {
      return AuditDetailJson(
          {{"type", protocol::TypeName(body.indicator.type)},
           {"value", body.indicator.value},
           {"revision", body.revision},
           {"variant", body.variant},
           {"origin", c.origin->name},
           {"rule", RuleJson(decision.rule)},
           {"reason", reason}});
    };
    if (decision.verdict == policy::InboundDecision::Verdict::kReject) {
      Reject(kRejectPolicy, protocol::IdToHex(c.id), 1,
             rejection(c.body, decision.rule.reason));
      return Status::Ok();
    }
    // The record's parts move into the row (StoreInbound consumes its
    // messages): no copy of its bytes on the store's one writer thread.
    store::RecordRow row;
    row.body = std::move(c.body);
    row.id = c.id;
    row.signed_bytes = std::move(c.signed_bytes);
    row.salt_seed = c.salt_seed;
    row.batch_leaves = std::move(c.batch_leaves);
    row.prepared = std::move(c.prepared);
    row.origin_country = c.origin->country;
    row.origin_name = c.origin->name;
    row.received_from = from_.name;
    row.quarantined =
        decision.verdict == policy::InboundDecision::Verdict::kQuarantine;
    auto inserted = txn_.InsertRecord(row, *current);
    if (!inserted.ok()) {
      // A record that contradicts what we hold is that record's problem,
      // not the link's.
      Reject(kRejectConflict, protocol::IdToHex(c.id), 1,
             rejection(row.body, inserted.status().message()));
      return Status::Ok();
    }
    if (inserted->kind == store::InsertOutcome::kDuplicate) {
      ++out_.duplicates;
      return Status::Ok();  // already held: no new decision to record
    }
    if (ctx_.warninglists) {
      const auto& ind = row.body.indicator;
      if (auto m = ctx_.warninglists->Match(ind.type, ind.value)) {
        // The hit's own audit entry goes after the decisions before it.
        CARAVAN_RETURN_IF_ERROR(FlushAudit());
        CARAVAN_RETURN_IF_ERROR(
            RecordWarninglistHit(txn_, c.id, *m, false, actor_, from_.name));
      }
    }
    out_.stored_new = true;
    ++(row.quarantined ? out_.quarantined : out_.accepted);
    decisions_.Add(row.quarantined ? "quarantine" : "accept", decision.rule,
                   {c.id, row.body.revision, row.body.variant, 0, c.origin->name});
    return Status::Ok();
  }

  const InboundContext& ctx_;
  const PeerInfo& from_;
  store::WriteTxn& txn_;
  const store::MemberTrust& trust_;  // read once per store write
  const std::string actor_;
  InboundOutcome out_;
  std::vector<store::AuditEvent> audit_;  // rejections and others
  DecisionAudit decisions_;  // accept and quarantine, in batch entries
};

}  // namespace

Result<InboundOutcome> StoreInbound(const InboundContext& ctx,
                                    const PeerInfo& from,
                                    std::vector<CheckedMessage>& messages) {
  uint64_t up_to_seq = 0;
  for (const auto& m : messages) up_to_seq = std::max(up_to_seq, m.up_to_seq);
  InboundOutcome out;
  Status written = ctx.store->Write([&](store::WriteTxn& txn) -> Status {
    auto trust = txn.GetMemberTrust();
    if (!trust.ok()) return trust.status();
    InboundWrite write(ctx, from, txn, *trust);
    for (auto& m : messages) CARAVAN_RETURN_IF_ERROR(write.Message(m));
    CARAVAN_RETURN_IF_ERROR(write.FlushAudit());
    CARAVAN_RETURN_IF_ERROR(txn.AdvanceInbound(from.name, up_to_seq));
    out = std::move(write.outcome());
    out.ack_seq = up_to_seq;
    return Status::Ok();
  }).get();
  if (!written.ok()) return written;
  return out;
}

}  // namespace caravan::daemon::sync
