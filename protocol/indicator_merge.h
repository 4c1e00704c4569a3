#pragma once
// Re-submission of a value this node already holds: how the submitted
// context combines with the current revision (docs/policy.md,
// "Re-submitting a known value").
//
// A plain re-submission merges and never loosens what may leave: the
// stricter TLP and reshare, the union of tags, the later valid_until and
// last_seen, the earlier first_seen. Only `kReplace` (the operator's
// `--replace`) makes the submission the whole new revision, as before.
// Every submission path (CLI, spool, STIX/MISP import, TAXII add) reaches
// this through the daemon's Submitter, which calls it on the current
// revision read inside the store's single writer, so two concurrent
// submissions cannot lose each other's tags.
//
// Pure functions on values; thread-safe.

#include <string>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

// Which optional fields the submitter set itself. A field filled in from
// the node defaults (no --tlp, --confidence, --reshare) does not take part
// in a merge: a plain re-submission must neither loosen nor quietly tighten
// what the operator set before.
struct SubmittedFields {
  bool tlp = true;
  bool confidence = true;
  bool reshare = true;
};

enum class ResubmitMode {
  kMerge,    // combine with the current revision (the default everywhere)
  kReplace,  // the submission is the whole new revision (--replace)
};

struct MergeResult {
  Indicator merged;  // the next revision's content (== existing: no change)
  // What differs from `existing`, in a fixed field order, for operators:
  // "tlp green->amber", "+tag x", "-tag y" (replace only), "confidence
  // 50->80", "reshare direct->none", "description changed", "valid_until
  // T1->T2", "first_seen ...", "last_seen ...", "revived" (replace of a
  // revoked indicator). Empty exactly when merged == existing.
  std::vector<std::string> changes;
};

// The next content of an indicator whose current revision is `existing`
// when `submitted` (validated, node defaults filled in, same type and
// value) is submitted again. Rules in kMerge mode:
//   tlp         the stricter (higher) of the two, if given; else existing
//   reshare     the stricter (lower: none < direct < federation), if given
//   confidence  the submitted one if given (an explicit reassessment,
//               shown in `changes`); else existing
//   tags        union; a tag equal to an existing one ignoring ASCII case
//               (as policy compares tags) is not added again
//   description the submitted one if non-empty, else existing
//   valid_until, last_seen  the later; an unset (0) side takes the other
//   first_seen  the earlier; an unset (0) side takes the other
// In kReplace mode the merged content is `submitted` itself.
//
// Fails with kInvalidInput, changing nothing, when in kMerge mode
// `existing` is revoked (a merge would silently revive it: --replace makes
// a new live revision) or the union has more than kMaxTags tags.
Result<MergeResult> MergeResubmission(const Indicator& existing,
                                      const Indicator& submitted,
                                      const SubmittedFields& given,
                                      ResubmitMode mode);

// The `changes` list (see MergeResult) between two contents of one
// indicator.
std::vector<std::string> DescribeChanges(const Indicator& before,
                                         const Indicator& after);

}  // namespace caravan::protocol
