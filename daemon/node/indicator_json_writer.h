#pragma once
// Writes an indicator's read JSON straight into text, without an nlohmann
// DOM: building and dumping the DOM was a third of a dense /24 query's
// time at 1M stored (issue 17). The bytes equal DumpJson of IndicatorJson
// with its member trust and warninglist marks (indicator_json.h,
// member_trust_json.h) and, for `export --format records`, the record
// members: the same members in the order nlohmann's std::map sorts them,
// strings escaped by the same escaper. The unit tests
// IndicatorJsonWriter.* hold the two equal over every optional member.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/store/member_trust.h"
#include "daemon/store/store_types.h"
#include "daemon/store/warninglist_hit.h"

namespace caravan::daemon {

// What a read adds to the indicator's own row.
struct IndicatorJsonMarks {
  // Whether the record's signature checks; nullopt: not checked (null).
  std::optional<bool> verified;
  // The member trust marks (AddMemberTrustJson), written when set: the
  // compromise covering the row (CompromiseCovering; null: none) and
  // whether its origin left the roster.
  struct Trust {
    const store::CompromisedKey* compromise = nullptr;
    bool origin_removed = false;
  };
  std::optional<Trust> trust;
  // The row's warninglist hit as AddWarninglistJson reads it (null: none).
  const store::WarninglistHit* warninglist = nullptr;
  // `export --format records`: the signed record (base64), when the first
  // revision was made, and the STIX id a TAXII client posted (omitted when
  // empty).
  struct Record {
    std::string signed_record_base64;
    int64_t first_created = 0;
    std::string stix_id;
  };
  const Record* record = nullptr;
};

// Appends the indicator's JSON object to `out`.
void AppendIndicatorJson(const store::IndicatorRow& row,
                         const IndicatorJsonMarks& marks, std::string& out);

}  // namespace caravan::daemon
