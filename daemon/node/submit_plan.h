#pragma once
// The steps by which the Submitter (submitter.h) turns validated
// submissions into stored, signed records:
//   MakeSubmitPlan  decides each one's indicator id, revision and merge
//                   against the revisions held (read through a lookup);
//   SignRevisions   signs the planned revisions (several: one Merkle batch);
//   StoreSigned     stores and audits them inside a store write.
// A plan made before the write (from a Reader) lets the store's single
// writer thread do only the SQL; it is used only if PlanStillHolds in the
// write, else the write makes the plan again from what it reads itself.
//
// Thread-safety: pure functions; StoreSigned and PlanStillHolds run on the
// store's writer thread (they take the WriteTxn).

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/node/submitter.h"
#include "daemon/store/write_txn.h"
#include "protocol/config/node_config.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::daemon {

// A revision waiting to be signed and stored within one write.
struct PendingRevision {
  size_t input_index = 0;
  protocol::RecordBody body;
  protocol::IndicatorId id{};
  std::vector<std::string> changes;  // against the revision before
  bool replaced = false;             // --replace: not merged
  // A new indicator whose id was not held when planned: whether it still
  // is not is checked by storing it (WriteTxn::InsertIfStillNew), not by
  // a look-up first.
  bool new_id = false;
};

// The canonical body of an id's current revision and its log entry,
// nullopt when none is held (WriteTxn or Reader CurrentRecordBody).
using CurrentBodyLookup =
    std::function<Result<std::optional<store::CurrentBody>>(
        const protocol::IndicatorId&)>;

// The body of `id`'s current revision, decoded; nullopt when none is held.
Result<std::optional<protocol::RecordBody>> CurrentBody(
    const CurrentBodyLookup& lookup, const protocol::IndicatorId& id);

struct SubmitPlan {
  std::vector<PendingRevision> pending;  // origin_seq not set yet
  // One per input: id, revision, unchanged and changes filled in, or the
  // error of a refused merge.
  std::vector<SubmissionOutcome> outcomes;
  // Every id each input's plan rests on: the log entry of the revision
  // the store held then (0: none; a redacted variant and the full one of
  // a revision are different entries), or nullopt for one an earlier
  // input of the same call planned. An input's plan holds as long as
  // each of its ids does.
  struct Looked {
    size_t input = 0;
    protocol::IndicatorId id{};
    std::optional<uint64_t> record_seq;
  };
  std::vector<Looked> looked_up;
};

// `parsed[i]` is inputs[i] validated (nullopt: refused, its error already
// in `outcomes[i]`). `keys`: this node's identity key first, then the
// keys it rotated away from, newest first (a value first submitted under
// one keeps its id and origin). `now`: the store's clock, stamped into
// each new revision's `created`.
Result<SubmitPlan> MakeSubmitPlan(
    const CurrentBodyLookup& current,
    const std::vector<SubmissionInput>& inputs,
    const std::vector<std::optional<protocol::Indicator>>& parsed,
    std::vector<SubmissionOutcome> outcomes,
    std::span<const protocol::PublicKey> keys, int64_t now);

// Indicator ids are BLAKE2b outputs: any 8 of their bytes are a hash.
struct IdHash {
  size_t operator()(const protocol::IndicatorId& id) const {
    size_t h = 0;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};
using CurrentViews =
    std::unordered_map<protocol::IndicatorId, std::optional<store::CurrentInfo>,
                       IdHash>;

// What the write finds of a plan made before it: the inputs whose plan no
// longer holds, because an id it rests on has another revision now (or is
// an id such an input rests on: a later input of the call may have planned
// on top of it), and the current views of the ids it looked up again.
class PlanCheck {
 public:
  explicit PlanCheck(const SubmitPlan& plan) : plan_(plan) {}
  bool stale(size_t input) const { return stale_.count(input) != 0; }
  const std::set<size_t>& stale_inputs() const { return stale_; }
  // `input`'s plan no longer holds, nor any resting on the ids it does.
  // Linear in what it marks (a whole request may go stale at once).
  void MarkStale(size_t input);
  CurrentViews views;

 private:
  const SubmitPlan& plan_;
  std::set<size_t> stale_;
  // Built on the first MarkStale: which inputs rest on an id, and the ids
  // each input rests on.
  std::unordered_multimap<protocol::IndicatorId, size_t, IdHash> inputs_of_;
  std::unordered_map<size_t, std::vector<protocol::IndicatorId>> ids_of_;
  std::unordered_set<protocol::IndicatorId, IdHash> changed_;
};

// Looks up again, in the write, every id `plan` rests on except those of
// the new indicators it plans (PendingRevision::new_id).
Result<PlanCheck> PlanStillHolds(store::WriteTxn& txn, const SubmitPlan& plan);

// Stamps a new revision's time: `now` (the store's clock, seconds) with the
// wall clock's milliseconds, but strictly after `previous` (the revision it
// follows, if any), so TAXII versions and STIX `modified` of one indicator
// never repeat (issue 19).
void StampRevisionTime(int64_t now, const protocol::RecordBody* previous,
                       protocol::RecordBody& body);

// Gives `pending` the origin sequence numbers from `first_origin_seq` on,
// in order, and signs them: the records to store, one per revision, their
// stored forms prepared (store::PrepareSignerRecords).
std::vector<store::RecordRow> SignRevisions(
    const crypto::IdentityKey& identity, const protocol::NodeConfig& config,
    std::vector<PendingRevision>& pending, uint64_t first_origin_seq);

// Stores `rows` (SignRevisions of `pending`) and audits them as `action`:
// a revision of a known indicator one entry each, new indicators one entry
// for the write when there are several. With `check` (a plan made before
// the write): rows of stale inputs are left out, views it read are used,
// and a new id found held marks its input stale.
Status StoreSigned(store::WriteTxn& txn,
                   const std::vector<store::RecordRow>& rows,
                   const std::vector<PendingRevision>& pending,
                   const std::string& action, const std::string& actor,
                   PlanCheck* check = nullptr);

}  // namespace caravan::daemon
