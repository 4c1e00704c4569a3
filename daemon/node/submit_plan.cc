#include "daemon/node/submit_plan.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "daemon/sync/record_signing.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {
namespace {

// The decoded body of a current revision, and the log entry holding it
// (0: none held).
struct HeldBody {
  std::optional<protocol::RecordBody> body;
  uint64_t record_seq = 0;
};
Result<HeldBody> DecodedBody(Result<std::optional<store::CurrentBody>> held) {
  if (!held.ok()) return held.status();
  if (!held->has_value()) return HeldBody{};
  auto body = protocol::DecodeRecordBody((*held)->body);
  if (!body.ok()) return body.status();
  return HeldBody{std::move(*body), (*held)->record_seq};
}

// The audit trail of a re-submission says what it changed and whether it
// replaced (so a dropped tag is never silent, even with --replace).
std::string AuditDetail(const protocol::RecordBody& body,
                        const PendingRevision& pending) {
  nlohmann::json d = {{"type", protocol::TypeName(body.indicator.type)},
                      {"value", body.indicator.value},
                      {"revision", body.revision},
                      {"origin_seq", body.origin_seq},
                      {"tlp", protocol::TlpName(body.indicator.tlp)}};
  if (body.indicator.revoked) d["reason"] = body.indicator.revoke_reason;
  if (!pending.changes.empty()) d["changes"] = pending.changes;
  if (pending.replaced) d["replaced"] = true;
  return d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What a write of several new indicators leaves in the audit log: one
// entry that counts them (by type and TLP) and names their log and origin
// sequence ranges, instead of one entry per indicator (about 400 bytes of
// log and indexes each: the largest share of a bulk-loaded store). The
// indicators themselves are in the log those ranges name (`caravan show`,
// `export`); revisions of known indicators keep an entry each, since what
// they changed is what an operator looks for.
class NewIndicatorSummary {
 public:
  void Add(const protocol::RecordBody& body, uint64_t log_seq) {
    if (count_ == 0) {
      first_log_seq_ = log_seq;
      first_origin_seq_ = body.origin_seq;
    }
    last_log_seq_ = log_seq;
    last_origin_seq_ = body.origin_seq;
    ++count_;
    ++types_[std::string(protocol::TypeName(body.indicator.type))];
    ++tlps_[std::string(protocol::TlpName(body.indicator.tlp))];
  }
  size_t count() const { return count_; }
  std::string Detail() const {
    nlohmann::json d = {{"count", count_},
                        {"types", types_},
                        {"tlp", tlps_},
                        {"log_seq_first", first_log_seq_},
                        {"log_seq_last", last_log_seq_},
                        {"origin_seq_first", first_origin_seq_},
                        {"origin_seq_last", last_origin_seq_}};
    return d.dump();
  }

 private:
  size_t count_ = 0;
  std::map<std::string, uint64_t> types_, tlps_;
  uint64_t first_log_seq_ = 0, last_log_seq_ = 0;
  uint64_t first_origin_seq_ = 0, last_origin_seq_ = 0;
};

}  // namespace

Result<std::optional<protocol::RecordBody>> CurrentBody(
    const CurrentBodyLookup& lookup, const protocol::IndicatorId& id) {
  auto held = DecodedBody(lookup(id));
  if (!held.ok()) return held.status();
  return std::move(held->body);
}

void StampRevisionTime(int64_t now, const protocol::RecordBody* previous,
                       protocol::RecordBody& body) {
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  int64_t millis = now * 1000 + wall.count() % 1000;
  if (previous != nullptr) {
    const int64_t last = previous->created * 1000 + previous->created_millis;
    millis = std::max(millis, last + 1);
  }
  body.created = millis / 1000;
  body.created_millis = static_cast<uint16_t>(millis % 1000);
}

Result<SubmitPlan> MakeSubmitPlan(
    const CurrentBodyLookup& current_body,
    const std::vector<SubmissionInput>& inputs,
    const std::vector<std::optional<protocol::Indicator>>& parsed,
    std::vector<SubmissionOutcome> outcomes,
    std::span<const protocol::PublicKey> keys, int64_t now) {
  SubmitPlan plan;
  plan.outcomes = std::move(outcomes);
  // Revisions assigned earlier in this same batch (a file may name one
  // value twice): the store has not seen them yet.
  std::map<protocol::IndicatorId, protocol::RecordBody> in_batch;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!parsed[i]) continue;
    SubmissionOutcome& outcome = plan.outcomes[i];
    protocol::Indicator ind = *parsed[i];
    // The indicator under our current key, or else one made under a key
    // we rotated away from (its id and origin stay).
    protocol::PublicKey origin = keys.front();
    protocol::IndicatorId id =
        protocol::ComputeIndicatorId(origin, ind.type, ind.value);
    std::optional<protocol::RecordBody> current;
    for (const protocol::PublicKey& key : keys) {
      const auto candidate =
          protocol::ComputeIndicatorId(key, ind.type, ind.value);
      if (auto it = in_batch.find(candidate); it != in_batch.end()) {
        current = it->second;
        plan.looked_up.push_back({i, candidate, std::nullopt});
      } else {
        auto stored = DecodedBody(current_body(candidate));
        if (!stored.ok()) return stored.status();
        current = std::move(stored->body);
        plan.looked_up.push_back({i, candidate, stored->record_seq});
      }
      if (current) {
        origin = key;
        id = candidate;
        break;
      }
    }
    outcome.id = id;
    if (current) {
      auto merged = protocol::MergeResubmission(
          current->indicator, ind, SubmittedFieldsOf(inputs[i]),
          inputs[i].replace ? protocol::ResubmitMode::kReplace
                            : protocol::ResubmitMode::kMerge);
      if (!merged.ok()) {
        outcome.error = merged.status();
        continue;
      }
      if (merged->changes.empty()) {
        outcome.revision = current->revision;
        outcome.unchanged = true;
        continue;
      }
      ind = std::move(merged->merged);
      outcome.changes = std::move(merged->changes);
    }
    protocol::RecordBody body;
    body.origin = origin;
    body.revision = current ? current->revision + 1 : 1;
    StampRevisionTime(now, current ? &*current : nullptr, body);
    body.indicator = std::move(ind);
    outcome.revision = body.revision;
    in_batch[id] = body;
    plan.pending.push_back({i, std::move(body), id, outcome.changes,
                            current.has_value() && inputs[i].replace,
                            /*new_id=*/!current});
  }
  return plan;
}

void PlanCheck::MarkStale(size_t input) {
  if (ids_of_.empty()) {
    for (const SubmitPlan::Looked& l : plan_.looked_up) {
      inputs_of_.emplace(l.id, l.input);
      ids_of_[l.input].push_back(l.id);
    }
  }
  std::vector<size_t> todo = {input};
  while (!todo.empty()) {
    const size_t at = todo.back();
    todo.pop_back();
    if (!stale_.insert(at).second) continue;
    for (const protocol::IndicatorId& id : ids_of_[at]) {
      if (!changed_.insert(id).second) continue;
      auto [first, last] = inputs_of_.equal_range(id);
      for (auto it = first; it != last; ++it) todo.push_back(it->second);
    }
  }
}

Result<PlanCheck> PlanStillHolds(store::WriteTxn& txn, const SubmitPlan& plan) {
  // The ids of new indicators are checked as they are stored.
  std::set<size_t> new_ids_of;
  for (const PendingRevision& p : plan.pending) {
    if (p.new_id) new_ids_of.insert(p.input_index);
  }
  PlanCheck check(plan);
  std::vector<size_t> changed;
  for (const SubmitPlan::Looked& l : plan.looked_up) {
    if (!l.record_seq || check.views.count(l.id) != 0) continue;
    if (*l.record_seq == 0 && new_ids_of.count(l.input) != 0 &&
        l.id == plan.outcomes[l.input].id) {
      continue;
    }
    auto now = txn.Current(l.id);
    if (!now.ok()) return now.status();
    if ((*now ? (*now)->record_seq : 0) != *l.record_seq) {
      changed.push_back(l.input);
    }
    check.views.emplace(l.id, std::move(*now));
  }
  for (size_t input : changed) check.MarkStale(input);
  return check;
}

std::vector<store::RecordRow> SignRevisions(
    const crypto::IdentityKey& identity, const protocol::NodeConfig& config,
    std::vector<PendingRevision>& pending, uint64_t first_origin_seq) {
  std::vector<std::vector<uint8_t>> bodies;
  bodies.reserve(pending.size());
  for (size_t k = 0; k < pending.size(); ++k) {
    pending[k].body.origin_seq = first_origin_seq + k;
    bodies.push_back(protocol::EncodeRecordBody(pending[k].body));
  }
  SignedBodies signed_bodies = SignBodies(identity, std::move(bodies));
  std::vector<store::RecordRow> rows(pending.size());
  for (size_t k = 0; k < pending.size(); ++k) {
    store::RecordRow& row = rows[k];
    row.origin_country = config.node.country;
    row.origin_name = config.node.name;
    row.salt_seed = signed_bodies.salt_seed;
    row.batch_leaves = signed_bodies.leaf_hashes;
    row.body = pending[k].body;
    row.id = pending[k].id;
    row.signed_bytes = protocol::EncodeSignedRecord(signed_bodies.records[k]);
  }
  store::PrepareSignerRecords(rows, std::move(signed_bodies.records));
  return rows;
}

Status StoreSigned(store::WriteTxn& txn,
                   const std::vector<store::RecordRow>& rows,
                   const std::vector<PendingRevision>& pending,
                   const std::string& action, const std::string& actor,
                   PlanCheck* check) {
  std::vector<store::AuditEvent> audit;
  NewIndicatorSummary fresh;
  store::AuditEvent lone_fresh;
  for (size_t i = 0; i < rows.size(); ++i) {
    const store::RecordRow& row = rows[i];
    const size_t input = pending[i].input_index;
    std::optional<store::InsertOutcome> stored;
    if (check != nullptr) {
      if (check->stale(input)) continue;
      if (pending[i].new_id) {
        auto inserted = txn.InsertIfStillNew(row);
        if (!inserted.ok()) return inserted.status();
        if (!inserted->has_value()) {
          check->MarkStale(input);  // another write stored the id first
          continue;
        }
        stored = **inserted;
      } else if (auto view = check->views.find(row.id);
                 view != check->views.end()) {
        auto inserted = txn.InsertRecord(row, view->second);
        check->views.erase(view);  // stale once this row is in
        if (!inserted.ok()) return inserted.status();
        stored = *inserted;
      }
    }
    if (!stored) {
      auto inserted = txn.InsertRecord(row);
      if (!inserted.ok()) return inserted.status();
      stored = *inserted;
    }
    const bool is_new = row.body.revision == 1 && pending[i].changes.empty() &&
                        !pending[i].replaced;
    if (!is_new) {
      audit.push_back({txn.now(), actor, action, protocol::IdToHex(row.id), "",
                       AuditDetail(row.body, pending[i])});
      continue;
    }
    if (fresh.count() == 0) {
      lone_fresh = {txn.now(), actor,
                    action,    protocol::IdToHex(row.id),
                    "",        AuditDetail(row.body, pending[i])};
    }
    fresh.Add(row.body, stored->log_seq);
  }
  if (fresh.count() == 1) {
    audit.push_back(std::move(lone_fresh));
  } else if (fresh.count() > 1) {
    audit.push_back({txn.now(), actor, action,
                     std::to_string(fresh.count()) + " records", "",
                     fresh.Detail()});
  }
  if (audit.empty()) return Status::Ok();
  return txn.AppendAudits(audit).status();
}

}  // namespace caravan::daemon
