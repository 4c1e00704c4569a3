#include "daemon/node/submitter.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "daemon/node/warninglist_state.h"
#include "daemon/sync/record_signing.h"
#include "protocol/indicator_parse.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {
namespace {

std::string TypeList() {
  std::string list;
  for (int t = 0; t < protocol::kIndicatorTypeCount; ++t) {
    if (!list.empty()) list += ", ";
    list += protocol::TypeName(static_cast<protocol::IndicatorType>(t));
  }
  return list;
}

// A revision waiting to be signed and stored within one write.
struct Pending {
  size_t input_index;
  protocol::RecordBody body;
  protocol::IndicatorId id;
  std::vector<std::string> changes;  // against the revision before
  bool replaced = false;             // --replace: not merged
};

// The body of the current revision of `id` if we hold it, for comparing
// content and building the next revision.
Result<std::optional<protocol::RecordBody>> CurrentBody(
    store::WriteTxn& txn, const protocol::IndicatorId& id) {
  auto bytes = txn.CurrentRecordBody(id);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<protocol::RecordBody>();
  auto body = protocol::DecodeRecordBody(**bytes);
  if (!body.ok()) return body.status();
  return std::optional<protocol::RecordBody>(std::move(*body));
}

// The audit trail of a re-submission says what it changed and whether it
// replaced (so a dropped tag is never silent, even with --replace).
std::string AuditDetail(const protocol::RecordBody& body,
                        const Pending& pending) {
  nlohmann::json d = {
      {"type", protocol::TypeName(body.indicator.type)},
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

// Signs and stores `pending` inside `txn`, auditing them as `action`: a
// revision of a known indicator one entry each, new indicators one entry
// for the write when there are several (NewIndicatorSummary).
Status StorePending(store::WriteTxn& txn, const crypto::IdentityKey& identity,
                    const protocol::NodeConfig& config,
                    std::vector<Pending>& pending, const std::string& action,
                    const std::string& actor) {
  std::vector<std::vector<uint8_t>> bodies;
  bodies.reserve(pending.size());
  for (const auto& p : pending) {
    bodies.push_back(protocol::EncodeRecordBody(p.body));
  }
  SignedBodies signed_bodies = SignBodies(identity, std::move(bodies));
  const auto& signed_records = signed_bodies.records;
  std::vector<store::AuditEvent> audit;
  NewIndicatorSummary fresh;
  store::AuditEvent lone_fresh;
  store::RecordRow row;
  row.origin_country = config.node.country;
  row.origin_name = config.node.name;
  row.salt_seed = signed_bodies.salt_seed;
  row.batch_leaves = signed_bodies.leaf_hashes;
  for (size_t i = 0; i < pending.size(); ++i) {
    row.body = std::move(pending[i].body);
    row.id = pending[i].id;
    row.signed_bytes = protocol::EncodeSignedRecord(signed_records[i]);
    auto outcome = txn.InsertRecord(row);
    if (!outcome.ok()) return outcome.status();
    store::AuditEvent event{txn.now(), actor, action,
                            protocol::IdToHex(pending[i].id), "",
                            AuditDetail(row.body, pending[i])};
    const bool is_new = row.body.revision == 1 &&
                        pending[i].changes.empty() && !pending[i].replaced;
    if (!is_new) {
      audit.push_back(std::move(event));
      continue;
    }
    if (fresh.count() == 0) lone_fresh = std::move(event);
    fresh.Add(row.body, outcome->log_seq);
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

// Stamps a new revision's time: `now` (the store's clock, seconds) with the
// wall clock's milliseconds, but strictly after `previous` (the revision it
// follows, if any), so TAXII versions and STIX `modified` of one indicator
// never repeat (issue 19): a second revision in the same millisecond, or
// after the clock stepped back, gets the millisecond after the last one.
void StampRevisionTime(int64_t now, const protocol::RecordBody* previous,
                       protocol::RecordBody& body) {
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  int64_t millis = now * 1000 + wall.count() % 1000;
  if (previous != nullptr) {
    const int64_t last =
        previous->created * 1000 + previous->created_millis;
    millis = std::max(millis, last + 1);
  }
  body.created = millis / 1000;
  body.created_millis = static_cast<uint16_t>(millis % 1000);
}

}  // namespace

Result<protocol::Indicator> BuildIndicator(
    const SubmissionInput& in, const protocol::NodeConfig::Defaults& d) {
  protocol::Indicator ind;
  if (in.type.empty()) {
    auto parsed = protocol::DetectAndNormalize(in.value);
    if (!parsed.ok()) return parsed.status();
    ind.type = parsed->type;
    ind.value = std::move(parsed->value);
  } else {
    auto type = protocol::ParseTypeName(in.type);
    if (!type) {
      return InvalidInput("unknown type '" + in.type + "' (" + TypeList() +
                          ")");
    }
    auto value = protocol::NormalizeValue(*type, in.value);
    if (!value.ok()) return value.status();
    ind.type = *type;
    ind.value = std::move(*value);
  }
  ind.tlp = d.tlp;
  if (!in.tlp.empty()) {
    auto tlp = protocol::ParseTlpName(in.tlp);
    if (!tlp) {
      return InvalidInput("unknown TLP '" + in.tlp +
                          "' (clear, green, amber, amber+strict, red)");
    }
    ind.tlp = *tlp;
  }
  ind.confidence = d.confidence;
  if (in.confidence >= 0) {
    if (in.confidence > 100) {
      return InvalidInput("confidence " + std::to_string(in.confidence) +
                          " is out of range 0..100");
    }
    ind.confidence = static_cast<uint8_t>(in.confidence);
  } else if (in.confidence != -1) {
    return InvalidInput("confidence " + std::to_string(in.confidence) +
                        " is out of range 0..100");
  }
  ind.reshare = d.reshare;
  if (!in.reshare.empty()) {
    auto reshare = protocol::ParseReshareName(in.reshare);
    if (!reshare) {
      return InvalidInput("unknown reshare '" + in.reshare +
                          "' (none, direct, federation)");
    }
    ind.reshare = *reshare;
  }
  ind.tags = in.tags;
  ind.description = in.description;
  ind.valid_until = in.valid_until;
  ind.first_seen = in.first_seen;
  ind.last_seen = in.last_seen;
  return protocol::ValidateIndicator(std::move(ind));
}

protocol::SubmittedFields SubmittedFieldsOf(const SubmissionInput& in) {
  return {.tlp = !in.tlp.empty(),
          .confidence = in.confidence >= 0,
          .reshare = !in.reshare.empty()};
}

Submitter::Submitter(store::Store& store, const crypto::IdentityKey& identity,
                     const protocol::NodeConfig& config, Metrics* metrics)
    : store_(store), identity_(identity), config_(config), metrics_(metrics) {}

void Submitter::Freeze() {
  std::unique_lock lock(freeze_mu_);
  frozen_ = true;
}

void Submitter::Thaw() {
  std::unique_lock lock(freeze_mu_);
  frozen_ = false;
}

// Said to every submission while an identity rotation is applied.
static Status Frozen() {
  return RetryLater("caravand is rotating its identity key; submit again in a moment");
}

std::vector<SubmissionOutcome> Submitter::Submit(
    const std::vector<SubmissionInput>& inputs, const std::string& actor) {
  std::vector<SubmissionOutcome> outcomes(inputs.size());
  std::shared_lock frozen(freeze_mu_);
  if (frozen_) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      outcomes[i].line = inputs[i].line;
      outcomes[i].error = Frozen();
    }
    return outcomes;
  }
  std::vector<std::optional<protocol::Indicator>> parsed(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    outcomes[i].line = inputs[i].line;
    auto ind = BuildIndicator(inputs[i], config_.defaults);
    if (!ind.ok()) {
      outcomes[i].error = ind.status();
      continue;
    }
    outcomes[i].error = ScreenSubmission(warninglists_, *ind, inputs[i].force,
                                         outcomes[i]);
    if (!outcomes[i].error.ok()) continue;  // on_match = refuse
    parsed[i] = std::move(*ind);
  }

  const auto& me = identity_.public_key();
  Status written = store_.Write([&](store::WriteTxn& txn) -> Status {
    std::vector<Pending> pending;
    // Revisions assigned earlier in this same batch (a file may name one
    // value twice): the store has not seen them yet.
    std::map<protocol::IndicatorId, protocol::RecordBody> in_batch;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!parsed[i]) continue;
      protocol::Indicator ind = *parsed[i];
      // The indicator under our current key, or else one made under a key
      // we rotated away from (its id and origin stay).
      protocol::PublicKey origin = me;
      protocol::IndicatorId id = protocol::ComputeIndicatorId(me, ind.type, ind.value);
      std::optional<protocol::RecordBody> current;
      for (size_t k = 0; k <= retired_.size(); ++k) {
        const protocol::PublicKey& key = k == 0 ? me : retired_[k - 1];
        const auto candidate = protocol::ComputeIndicatorId(key, ind.type, ind.value);
        if (auto it = in_batch.find(candidate); it != in_batch.end()) {
          current = it->second;
        } else {
          auto stored = CurrentBody(txn, candidate);
          if (!stored.ok()) return stored.status();
          current = std::move(*stored);
        }
        if (current) {
          origin = key;
          id = candidate;
          break;
        }
      }
      outcomes[i].id = id;
      if (current) {
        auto merged = protocol::MergeResubmission(
            current->indicator, ind, SubmittedFieldsOf(inputs[i]),
            inputs[i].replace ? protocol::ResubmitMode::kReplace
                              : protocol::ResubmitMode::kMerge);
        if (!merged.ok()) {
          outcomes[i].error = merged.status();
          continue;
        }
        if (merged->changes.empty()) {
          outcomes[i].revision = current->revision;
          outcomes[i].unchanged = true;
          continue;
        }
        ind = std::move(merged->merged);
        outcomes[i].changes = std::move(merged->changes);
      }
      protocol::RecordBody body;
      body.origin = origin;
      body.revision = current ? current->revision + 1 : 1;
      StampRevisionTime(txn.now(), current ? &*current : nullptr, body);
      body.indicator = ind;
      outcomes[i].revision = body.revision;
      in_batch[id] = body;
      pending.push_back({i, std::move(body), id, outcomes[i].changes,
                         current.has_value() && inputs[i].replace});
    }
    if (!pending.empty()) {
      // One block of origin sequence numbers for the batch, in input order.
      auto first_seq = txn.ReserveOriginSeqs(pending.size());
      if (!first_seq.ok()) return first_seq.status();
      for (size_t k = 0; k < pending.size(); ++k) {
        pending[k].body.origin_seq = *first_seq + k;
      }
      CARAVAN_RETURN_IF_ERROR(
          StorePending(txn, identity_, config_, pending, "submit", actor));
    }
    return FlagSubmissions(txn, outcomes, actor);
  }).get();

  if (!written.ok()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (parsed[i]) outcomes[i].error = written;
    }
  }
  if (metrics_ != nullptr) {
    uint64_t stored = 0, unchanged = 0, invalid = 0;
    for (const auto& o : outcomes) {
      ++(!o.error.ok() ? invalid : o.unchanged ? unchanged : stored);
    }
    metrics_->submissions.With({"stored"}).Inc(stored);
    metrics_->submissions.With({"unchanged"}).Inc(unchanged);
    metrics_->submissions.With({"error"}).Inc(invalid);
    metrics_->records_stored.With({"local"}).Inc(stored);
  }
  return outcomes;
}

Result<SubmissionOutcome> Submitter::Revoke(const protocol::IndicatorId& id,
                                            const std::string& reason,
                                            const std::string& actor) {
  if (reason.empty()) return InvalidInput("a revocation needs a --reason");
  if (reason.size() > protocol::kMaxRevokeReasonBytes) {
    return InvalidInput("revocation reason longer than " +
                        std::to_string(protocol::kMaxRevokeReasonBytes) +
                        " bytes");
  }
  std::shared_lock frozen(freeze_mu_);
  if (frozen_) return Frozen();
  SubmissionOutcome outcome;
  outcome.id = id;
  Status written = store_.Write([&](store::WriteTxn& txn) -> Status {
    auto current = CurrentBody(txn, id);
    if (!current.ok()) return current.status();
    if (!current->has_value()) {
      return NotFound("no indicator " + protocol::IdToHex(id));
    }
    protocol::RecordBody body = **current;
    if (body.origin != identity_.public_key() &&
        std::find(retired_.begin(), retired_.end(), body.origin) == retired_.end()) {
      return Denied("indicator " + protocol::IdToHex(id) +
                    " was made by another CERT: only its origin can revoke "
                    "it");
    }
    if (body.indicator.revoked) {
      return InvalidInput("indicator " + protocol::IdToHex(id) +
                          " is already revoked");
    }
    auto seq = txn.NextOriginSeq();
    if (!seq.ok()) return seq.status();
    body.origin_seq = *seq;
    body.revision += 1;
    body.variant = 0;
    const protocol::RecordBody previous = body;
    StampRevisionTime(txn.now(), &previous, body);
    body.indicator.revoked = true;
    body.indicator.revoke_reason = reason;
    outcome.revision = body.revision;
    std::vector<Pending> pending = {{0, std::move(body), id, {}, false}};
    return StorePending(txn, identity_, config_, pending, "revoke", actor);
  }).get();
  if (!written.ok()) return written;
  if (metrics_ != nullptr) metrics_->records_stored.With({"local"}).Inc();
  return outcome;
}

}  // namespace caravan::daemon
