#include "daemon/node/submitter.h"

#include <algorithm>
#include <set>

#include "daemon/node/submit_plan.h"
#include "daemon/node/warninglist_state.h"
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

// A plan made and signed before the write.
struct EarlyWrite {
  SubmitPlan plan;
  std::vector<store::RecordRow> rows;  // signed and prepared
};

// Plans `inputs` from what the store holds now and signs the revisions;
// nullopt when that cannot be done (no reader opens...): the write then
// plans it all.
std::optional<EarlyWrite> PlanAndSignEarly(
    store::Store& store, store::ReaderPool& readers,
    const crypto::IdentityKey& identity, const protocol::NodeConfig& config,
    const std::vector<SubmissionInput>& inputs,
    const std::vector<std::optional<protocol::Indicator>>& parsed,
    const std::vector<SubmissionOutcome>& outcomes,
    std::span<const protocol::PublicKey> keys) {
  auto plan = readers.With([&](store::Reader& reader) {
    return reader.InOneSnapshot([&] {
      return MakeSubmitPlan(
          [&reader](const protocol::IndicatorId& id) {
            return reader.CurrentRecordBody(id);
          },
          inputs, parsed, outcomes, keys, store.Now());
    });
  });
  if (!plan.ok()) return std::nullopt;
  EarlyWrite early{std::move(*plan), {}};
  if (!early.plan.pending.empty()) {
    auto first_seq = store.ReserveOriginSeqs(early.plan.pending.size());
    if (!first_seq.ok()) return std::nullopt;
    early.rows =
        SignRevisions(identity, config, early.plan.pending, *first_seq);
  }
  return early;
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

Submitter::Submitter(store::Store& store, store::ReaderPool& readers,
                     const crypto::IdentityKey& identity,
                     const protocol::NodeConfig& config, Metrics* metrics)
    : store_(store),
      readers_(readers),
      identity_(identity),
      config_(config),
      metrics_(metrics) {}

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

  std::vector<protocol::PublicKey> keys = {identity_.public_key()};
  keys.insert(keys.end(), retired_.begin(), retired_.end());
  // Planned and signed before the write from what the store holds now, so
  // the store's one writer thread is left with checking and storing. An
  // input whose indicator a write in between changed (the same value in
  // two submissions at once) is planned and signed again inside the write,
  // from what it reads itself.
  std::optional<EarlyWrite> early = PlanAndSignEarly(
      store_, readers_, identity_, config_, inputs, parsed, outcomes, keys);
  if (before_write_) before_write_();
  std::vector<SubmissionOutcome> planned = outcomes;
  auto write = [&](store::WriteTxn& txn) -> Status {
    std::set<size_t> stale;  // inputs to plan in the write
    if (early) {
      auto check = PlanStillHolds(txn, early->plan);
      if (!check.ok()) return check.status();
      planned = early->plan.outcomes;
      if (!early->rows.empty()) {
        CARAVAN_RETURN_IF_ERROR(
            txn.KeepOriginSeqs(early->rows.back().body.origin_seq));
        CARAVAN_RETURN_IF_ERROR(StoreSigned(
            txn, early->rows, early->plan.pending, "submit", actor, &*check));
      }
      stale = check->stale_inputs();
      if (!stale.empty()) plans_remade_.fetch_add(1);
    } else {
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (parsed[i]) stale.insert(i);
      }
    }
    if (!stale.empty()) {
      std::vector<std::optional<protocol::Indicator>> again(parsed.size());
      for (size_t i : stale) again[i] = parsed[i];
      auto plan = MakeSubmitPlan(
          [&txn](const protocol::IndicatorId& id) {
            return txn.CurrentRecordBody(id);
          },
          inputs, again, outcomes, keys, txn.now());
      if (!plan.ok()) return plan.status();
      for (size_t i : stale) planned[i] = plan->outcomes[i];
      if (!plan->pending.empty()) {
        // One block of origin sequence numbers, in input order.
        auto first_seq = txn.ReserveOriginSeqs(plan->pending.size());
        if (!first_seq.ok()) return first_seq.status();
        const auto rows =
            SignRevisions(identity_, config_, plan->pending, *first_seq);
        CARAVAN_RETURN_IF_ERROR(
            StoreSigned(txn, rows, plan->pending, "submit", actor));
      }
    }
    return FlagSubmissions(txn, planned, actor);
  };
  Status written = store_.Write(write).get();
  outcomes = std::move(planned);

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
  Status written =
      store_
          .Write([&](store::WriteTxn& txn) -> Status {
            auto current = CurrentBody(
                [&txn](const protocol::IndicatorId& of) {
                  return txn.CurrentRecordBody(of);
                },
                id);
            if (!current.ok()) return current.status();
            if (!current->has_value()) {
              return NotFound("no indicator " + protocol::IdToHex(id));
            }
            protocol::RecordBody body = **current;
            if (body.origin != identity_.public_key() &&
                std::find(retired_.begin(), retired_.end(), body.origin) ==
                    retired_.end()) {
              return Denied(
                  "indicator " + protocol::IdToHex(id) +
                  " was made by another CERT: only its origin can revoke "
                  "it");
            }
            if (body.indicator.revoked) {
              return InvalidInput("indicator " + protocol::IdToHex(id) +
                                  " is already revoked");
            }
            auto seq = txn.NextOriginSeq();
            if (!seq.ok()) return seq.status();
            body.revision += 1;
            body.variant = 0;
            const protocol::RecordBody previous = body;
            StampRevisionTime(txn.now(), &previous, body);
            body.indicator.revoked = true;
            body.indicator.revoke_reason = reason;
            outcome.revision = body.revision;
            std::vector<PendingRevision> pending = {
                {0, std::move(body), id, {}, false}};
            const auto rows = SignRevisions(identity_, config_, pending, *seq);
            return StoreSigned(txn, rows, pending, "revoke", actor);
          })
          .get();
  if (!written.ok()) return written;
  if (metrics_ != nullptr) metrics_->records_stored.With({"local"}).Inc();
  return outcome;
}

}  // namespace caravan::daemon
