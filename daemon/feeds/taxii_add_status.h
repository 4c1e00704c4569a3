#pragma once
// The status resource of a TAXII add-objects request (TAXII 2.1, section
// 4.3.1 and the status resource): every posted object is listed exactly
// once, as a success, a failure with its reason, or pending, each with its
// `id` and `version`, and `total_count` counts them all (issue 19,
// finding 2: objects caravan does not store were missing, and entries had
// no version).
//
// caravan answers add-objects synchronously, so nothing is ever pending.
// Pure functions over values; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/formats/stix.h"
#include "protocol/status.h"

namespace caravan::feeds {

// One object as posted: what the status names it by.
struct PostedObject {
  std::string id;       // "" when it had no string id
  std::string type;     // "" when it had no string type
  std::string version;  // its `modified`, else `created`, else ""
};

// The objects of an add-objects body (a bundle, a TAXII envelope or one
// object), in the order ImportStixBundle numbers them (its 1-based index i
// is element i-1). Fails (InvalidInput) like ImportStixBundle for a body
// that is none of those.
Result<std::vector<PostedObject>> ListPostedObjects(std::string_view body,
                                                    size_t max_bytes);

// What became of the items ImportStixBundle made: one per item, in order.
struct ItemResult {
  std::string error;           // "" = stored or unchanged
  std::string stored_version;  // `modified` of the revision now served
};

// The status resource: id, status "complete", request_timestamp, counts
// and the success/failure lists. An object is a success when every item
// it yielded was stored (its message names the version caravan serves),
// a failure otherwise: the importer's reason, the submission error, or
// that caravan keeps only indicators and vulnerabilities.
nlohmann::json BuildAddStatus(std::string_view status_id,
                              std::string_view request_timestamp,
                              const std::vector<PostedObject>& objects,
                              const protocol::StixImport& imported,
                              const std::vector<ItemResult>& results);

}  // namespace caravan::feeds
