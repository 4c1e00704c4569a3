#include "daemon/sync/inbound.h"

#include <nlohmann/json.hpp>

#include "daemon/config/metrics.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_explain.h"
#include "daemon/sync/warninglist_flag.h"

namespace caravan::daemon::sync {
namespace {

std::string Json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A record that passed decoding, roster and signature checks.
struct Checked {
  protocol::RecordBody body;
  protocol::IndicatorId id{};
  const protocol::RosterMember* origin = nullptr;
  std::vector<uint8_t> signed_bytes;
};

struct Rejection {
  uint64_t sender_seq;
  std::string subject;
  std::string reason;
  std::string_view metric_reason;  // kReject* of daemon/config/metrics.h
};

}  // namespace

RosterIndex::RosterIndex(std::vector<protocol::RosterMember> members)
    : members_(std::move(members)) {
  for (size_t i = 0; i < members_.size(); ++i) by_key_[members_[i].key] = i;
}

const protocol::RosterMember* RosterIndex::Find(
    const protocol::PublicKey& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &members_[it->second];
}

Result<InboundOutcome> ApplyInbound(const InboundContext& ctx,
                                    const PeerInfo& from,
                                    const std::vector<InboundEntry>& entries,
                                    uint64_t up_to_seq) {
  // Checks that need no store state run first, outside the write.
  std::vector<Checked> checked;
  std::vector<Rejection> rejected;
  size_t own_echoes = 0;
  for (const auto& e : entries) {
    auto body = protocol::DecodeRecordBody(e.record.body);
    if (!body.ok()) {
      rejected.push_back({e.sender_seq, "",
                          "malformed record: " + body.status().message(),
                          kRejectDecode});
      continue;
    }
    const auto id = protocol::ComputeIndicatorId(
        body->origin, body->indicator.type, body->indicator.value);
    const std::string subject = protocol::IdToHex(id);
    if (body->origin == ctx.self) {
      ++own_echoes;  // our own record coming back: we hold it already
      continue;
    }
    const protocol::RosterMember* origin = ctx.roster->Find(body->origin);
    if (origin == nullptr) {
      rejected.push_back({e.sender_seq, subject,
                          "origin is not in the roster", kRejectUnknownOrigin});
      continue;
    }
    if (!VerifySignedRecord(e.record, body->origin, ctx.root_cache)) {
      rejected.push_back({e.sender_seq, subject,
                          "origin signature does not verify",
                          kRejectBadSignature});
      continue;
    }
    checked.push_back({std::move(*body), id, origin,
                       protocol::EncodeSignedRecord(e.record)});
  }

  InboundOutcome out;
  out.duplicates = own_echoes;
  Status written = ctx.store->Write([&](store::WriteTxn& txn) -> Status {
    InboundOutcome local;
    local.duplicates = own_echoes;
    // Audit entries are appended together (one read and one move of the
    // chain head), in the order the decisions were made.
    std::vector<store::AuditEvent> audit;
    audit.reserve(entries.size());
    auto flush_audit = [&]() -> Status {
      if (audit.empty()) return Status::Ok();
      auto appended = txn.AppendAudits(audit);
      audit.clear();
      return appended.status();
    };
    for (const auto& r : rejected) {
      ++local.rejected;
      ++local.rejected_by_reason[std::string(r.metric_reason)];
      audit.push_back(
          {txn.now(), "peer:" + from.name, "reject", r.subject, from.name,
           Json({{"sender_seq", r.sender_seq}, {"reason", r.reason}})});
    }
    for (const auto& c : checked) {
      auto current = txn.Current(c.id);
      if (!current.ok()) return current.status();
      policy::InboundContext pctx;
      pctx.now = ctx.now;
      pctx.relayed = c.body.origin != from.key;
      pctx.holds_indicator = current->has_value();
      const auto decision =
          policy::EvaluateInbound(*ctx.policy, c.body, c.origin->country, pctx);
      const bool keep =
          decision.verdict != policy::InboundDecision::Verdict::kReject;
      nlohmann::json detail = {
          {"type", protocol::TypeName(c.body.indicator.type)},
          {"value", c.body.indicator.value},
          {"revision", c.body.revision},
          {"variant", c.body.variant},
          {"origin", c.origin->name},
          {"rule", {{"file", decision.rule.file},
                    {"line", decision.rule.line},
                    {"key", decision.rule.key}}},
          {"reason", decision.rule.reason}};
      if (!keep) {
        ++local.rejected;
        ++local.rejected_by_reason[std::string(kRejectPolicy)];
        audit.push_back({txn.now(), "peer:" + from.name, "reject",
                         protocol::IdToHex(c.id), from.name, Json(detail)});
        continue;
      }
      store::RecordRow row;
      row.body = c.body;
      row.id = c.id;
      row.signed_bytes = c.signed_bytes;
      row.origin_country = c.origin->country;
      row.origin_name = c.origin->name;
      row.received_from = from.name;
      row.quarantined =
          decision.verdict == policy::InboundDecision::Verdict::kQuarantine;
      auto inserted = txn.InsertRecord(row);
      if (!inserted.ok()) {
        // A record that contradicts what we hold is that record's problem,
        // not the link's.
        ++local.rejected;
        ++local.rejected_by_reason[std::string(kRejectConflict)];
        detail["reason"] = inserted.status().message();
        audit.push_back({txn.now(), "peer:" + from.name, "reject",
                         protocol::IdToHex(c.id), from.name, Json(detail)});
        continue;
      }
      if (inserted->kind == store::InsertOutcome::kDuplicate) {
        ++local.duplicates;
        continue;  // already held: no new decision to record
      }
      if (ctx.warninglists) {
        const auto& ind = c.body.indicator;
        if (auto m = ctx.warninglists->Match(ind.type, ind.value)) {
          CARAVAN_RETURN_IF_ERROR(flush_audit());
          CARAVAN_RETURN_IF_ERROR(RecordWarninglistHit(
              txn, c.id, *m, false, "peer:" + from.name, from.name));
        }
      }
      local.stored_new = true;
      if (row.quarantined) {
        ++local.quarantined;
      } else {
        ++local.accepted;
      }
      audit.push_back(
          {txn.now(), "peer:" + from.name,
           row.quarantined ? "quarantine" : "accept", protocol::IdToHex(c.id),
           from.name, Json(detail)});
    }
    CARAVAN_RETURN_IF_ERROR(flush_audit());
    CARAVAN_RETURN_IF_ERROR(txn.AdvanceInbound(from.name, up_to_seq));
    local.ack_seq = up_to_seq;
    out = local;
    return Status::Ok();
  }).get();
  if (!written.ok()) return written;
  return out;
}

}  // namespace caravan::daemon::sync
