#pragma once
// Submitter: turns operator submissions into signed records of this node.
// Each submission is parsed and validated again here (the CLI is not
// trusted to have done it), given the next revision of its indicator and
// this node's next origin sequence number, signed (several at once share
// one Merkle-batch signature), stored and audited: success is reported
// only after the commit.
//
// A value this node already holds is merged into its current revision
// (protocol/indicator_merge.h: stricter TLP, tag union, ...) unless the
// input asks to replace it. The plan (ids, revisions, merges) and the
// signatures are made before the store write, from what a Reader sees, so
// the store's single writer thread does little more than SQL
// (submit_plan.h); the write stores them only if every revision the plan
// read is still the current one, and otherwise plans and signs again from
// what it reads itself. So concurrent submissions of one value merge,
// never overwrite.
//
// Thread-safety: Submit and Revoke block until the store commits; call them
// from the worker pool, any number concurrently (the store serializes
// writes and commits concurrent calls together).

#include <atomic>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/observe/metrics.h"
#include "daemon/store/reader_pool.h"
#include "daemon/store/store.h"
#include "protocol/config/node_config.h"
#include "protocol/formats/warninglist.h"
#include "protocol/indicator.h"
#include "protocol/indicator_merge.h"
#include "protocol/status.h"

namespace caravan::daemon {

// One submission as it came from a user: raw text, parsed by the daemon.
struct SubmissionInput {
  std::string type;  // empty: detect from the value
  std::string value;
  std::string tlp;      // empty: node default
  int confidence = -1;  // -1: node default
  std::vector<std::string> tags;
  std::string description;
  int64_t valid_until = 0, first_seen = 0, last_seen = 0;
  std::string reshare;  // empty: node default
  uint64_t line = 0;    // echoed back for bulk reporting
  bool force = false;   // store even when a warninglist matches (--force)
  // The submission is the whole new revision of a known value (--replace)
  // instead of being merged into it; also revives a revoked one.
  bool replace = false;
};

struct SubmissionOutcome {
  uint64_t line = 0;
  Status error;  // ok: stored (or unchanged)
  protocol::IndicatorId id{};
  uint32_t revision = 0;
  // Nothing to change: the merge (or replacement) equals the current
  // revision, so no new revision was made.
  bool unchanged = false;
  // What the new revision changed against the one before ("+tag x", "tlp
  // green->amber"); empty for a new value (revision 1) and when unchanged.
  std::vector<std::string> changes;
  // The warninglist it matched (docs/warninglists.md), and whether it was
  // stored anyway with --force (then it is shared as usual).
  std::optional<protocol::WarninglistMatch> warninglist;
  bool forced = false;
};

// Parses and validates one submission against the node defaults. Errors
// name the field: "unknown type 'ipv5' (ipv4, ipv6, ...)".
// Which of the optional fields the input set itself (the rest came from
// the node defaults and take no part in a merge) is SubmittedFieldsOf.
Result<protocol::Indicator> BuildIndicator(
    const SubmissionInput& input, const protocol::NodeConfig::Defaults& d);

protocol::SubmittedFields SubmittedFieldsOf(const SubmissionInput& input);

class WarninglistState;

class Submitter {
 public:
  // All references (and `metrics`, which may be null) must outlive the
  // Submitter.
  Submitter(store::Store& store, store::ReaderPool& readers,
            const crypto::IdentityKey& identity,
            const protocol::NodeConfig& config, Metrics* metrics = nullptr);

  // Screens submissions against `warninglists` (null: none); it must
  // outlive the Submitter. Call before the first Submit.
  void SetWarninglists(const WarninglistState* warninglists) {
    warninglists_ = warninglists;
  }

  // The identity keys this node rotated away from (newest first;
  // docs/federation.md, "Identity key rotation"): a value first submitted
  // under one of them keeps its indicator id and origin, and its new
  // revisions are signed by the current key. Call before the first Submit.
  void SetRetiredKeys(std::vector<protocol::PublicKey> retired) {
    retired_ = std::move(retired);
  }

  // How many Submit calls planned before their write but had to plan again
  // inside it, because a write in between changed an indicator the early
  // plan looked at (concurrent submissions of one value). Any thread.
  uint64_t plans_remade() const { return plans_remade_.load(); }

  // Tests only: runs between the early plan and the write of each Submit.
  void SetBeforeWriteForTesting(std::function<void()> hook) {
    before_write_ = std::move(hook);
  }

  // One outcome per input, in order. Invalid inputs get their error and do
  // not stop the others; so does a merge that is refused (a revoked value
  // without `replace`, too many tags in the union). If the store write fails, every valid input gets
  // that error (nothing of the batch was stored).
  std::vector<SubmissionOutcome> Submit(
      const std::vector<SubmissionInput>& inputs, const std::string& actor);

  // Identity key rotation (identity_rotate.cc): from Freeze on, Submit and
  // Revoke sign nothing (every input gets RetryLater) until Thaw; Freeze
  // returns once no Submit or Revoke is running, so every record the
  // current key signed is stored and its `created` is in the past. The
  // rotation then takes effect at a later second than all of them. Any
  // thread.
  void Freeze();
  void Thaw();

  // A signed revocation: a new revision with revoked = true. NotFound for
  // an unknown id, Denied when this node is not the origin (only the origin
  // signs revisions), InvalidInput when already revoked.
  Result<SubmissionOutcome> Revoke(const protocol::IndicatorId& id,
                                   const std::string& reason,
                                   const std::string& actor);

 private:
  store::Store& store_;
  store::ReaderPool& readers_;
  const crypto::IdentityKey& identity_;
  const protocol::NodeConfig& config_;
  Metrics* metrics_;  // may be null
  const WarninglistState* warninglists_ = nullptr;  // may be null
  std::vector<protocol::PublicKey> retired_;        // our retired keys
  std::atomic<uint64_t> plans_remade_{0};
  std::function<void()> before_write_;  // tests only
  // Held shared by Submit and Revoke, unique by Freeze; guards frozen_.
  std::shared_mutex freeze_mu_;
  bool frozen_ = false;
};

}  // namespace caravan::daemon
