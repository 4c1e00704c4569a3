#pragma once
// Finding the indicators a STIX id names through indexes, never a scan of
// the log (issue 19, finding 4: GET .../objects/ID/ took seconds).
//
// An indicator has two kinds of STIX id (docs/taxii.md, "Object ids"):
// the one derived from its caravan id (UuidFromDigest: the first 16 bytes
// of the id with the version and variant bits set), found by a range scan
// of the indicators' id index over the 6 bytes the UUID keeps intact; and
// ids TAXII clients posted for it (the stix_ids table).
//
// Functions only; thread-safety is the Reader's.

#include <string_view>
#include <vector>

#include "daemon/store/reader.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::feeds {

struct StixIdHit {
  protocol::IndicatorId id{};
  bool posted = false;  // the id was posted for it (else derived from it)
};

// The indicators `stix_id` names: the one it was posted for when
// `check_posted` (skip that probe when no id was ever posted), else those
// whose derived id it is. Empty when none, or when `stix_id` is not
// "<type>--<lowercase UUID>". A derived hit's type is not checked here:
// the caller compares it with the id's type (indicator/vulnerability).
Result<std::vector<StixIdHit>> FindStixId(store::Reader& reader,
                                          std::string_view stix_id,
                                          bool check_posted);

// Whether `stix_id`'s type prefix is the STIX type caravan exports an
// indicator of `type` as ("vulnerability" for cve, else "indicator").
bool StixTypeMatches(std::string_view stix_id, protocol::IndicatorType type);

}  // namespace caravan::feeds
