#pragma once
// Submitter: turns operator submissions into signed records of this node.
// Each submission is parsed and validated again here (the CLI is not
// trusted to have done it), given the next revision of its indicator and
// this node's next origin sequence number, signed (several at once share
// one Merkle-batch signature), stored and audited, all in one store write:
// success is reported only after the commit.
//
// Thread-safety: Submit and Revoke block until the store commits; call them
// from the worker pool, any number concurrently (the store serializes
// writes and commits concurrent calls together).

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/observe/metrics.h"
#include "daemon/store/store.h"
#include "protocol/indicator.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"
#include "protocol/formats/warninglist.h"

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
};

struct SubmissionOutcome {
  uint64_t line = 0;
  Status error;  // ok: stored (or unchanged)
  protocol::IndicatorId id{};
  uint32_t revision = 0;
  bool unchanged = false;  // same content as the current revision
  // The warninglist it matched (docs/warninglists.md), and whether it was
  // stored anyway with --force (then it is shared as usual).
  std::optional<protocol::WarninglistMatch> warninglist;
  bool forced = false;
};

// Parses and validates one submission against the node defaults. Errors
// name the field: "unknown type 'ipv5' (ipv4, ipv6, ...)".
Result<protocol::Indicator> BuildIndicator(
    const SubmissionInput& input, const protocol::NodeConfig::Defaults& d);

class WarninglistState;

class Submitter {
 public:
  // All references (and `metrics`, which may be null) must outlive the
  // Submitter.
  Submitter(store::Store& store, const crypto::IdentityKey& identity,
            const protocol::NodeConfig& config, Metrics* metrics = nullptr);

  // Screens submissions against `warninglists` (null: none); it must
  // outlive the Submitter. Call before the first Submit.
  void SetWarninglists(const WarninglistState* warninglists) {
    warninglists_ = warninglists;
  }

  // One outcome per input, in order. Invalid inputs get their error and do
  // not stop the others. If the store write fails, every valid input gets
  // that error (nothing of the batch was stored).
  std::vector<SubmissionOutcome> Submit(
      const std::vector<SubmissionInput>& inputs, const std::string& actor);

  // A signed revocation: a new revision with revoked = true. NotFound for
  // an unknown id, Denied when this node is not the origin (only the origin
  // signs revisions), InvalidInput when already revoked.
  Result<SubmissionOutcome> Revoke(const protocol::IndicatorId& id,
                                   const std::string& reason,
                                   const std::string& actor);

 private:
  store::Store& store_;
  const crypto::IdentityKey& identity_;
  const protocol::NodeConfig& config_;
  Metrics* metrics_;  // may be null
  const WarninglistState* warninglists_ = nullptr;  // may be null
};

}  // namespace caravan::daemon
