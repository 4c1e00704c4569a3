#pragma once
// The JSON bodies of TAXII listings (envelope, manifest, versions), written
// as text from objects already in JSON form: the paging hot path builds no
// DOM (docs/taxii.md, "Paging cost"). Members are in the order nlohmann
// would dump them (sorted), so the bodies read exactly as before.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

namespace caravan::feeds {

// One object version a listing serves.
struct ListedObject {
  uint64_t seq = 0;          // its log record
  int64_t date_added = 0;    // Unix microseconds
  std::string id;            // STIX id as served
  int64_t modified_millis = 0;
  std::string json;          // the STIX object's JSON text
};

// {"more":…,"next":…,"objects":[…]}: "next" only when `more`, "objects"
// only when there are any (TAXII 2.1 envelope).
std::string EnvelopeBody(const std::vector<ListedObject>& objects, bool more,
                         const std::string& next);
// The same with manifest records (id, date_added, version, media_type).
std::string ManifestBody(const std::vector<ListedObject>& objects, bool more,
                         const std::string& next);
// {"more":…,"next":…,"versions":[…]}: the objects' `modified` values.
std::string VersionsBody(const std::vector<ListedObject>& objects, bool more,
                         const std::string& next);

}  // namespace caravan::feeds
