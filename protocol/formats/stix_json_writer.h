#pragma once
// Writes the STIX object of one revision straight into JSON text, without
// building an nlohmann DOM: the TAXII server's paging hot path (issue 17,
// docs/taxii.md "Paging cost"). The bytes are exactly those of
// StixIndicator(item).dump() with the TAXII server's dump settings (no
// indent, UTF-8 kept, invalid UTF-8 replaced): members in the same sorted
// order, strings escaped the same way (plain printable ASCII is copied,
// anything else goes through nlohmann's own escaper). The unit tests
// StixJsonWriter.* hold the two equal over every optional member.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/formats/stix.h"

namespace caravan::protocol {

// What a listing needs of an object without writing it: its type
// ("indicator" or "vulnerability"), its id (a posted one when it names
// that type, else the derived one) and its `modified` in Unix
// milliseconds; the same values StixIndicator writes.
struct StixObjectHead {
  std::string_view type;
  std::string id;
  int64_t modified_millis = 0;
};
StixObjectHead StixHeadOf(const ExportItem& item);

// Appends the JSON text of StixIndicator(item) to `out`. False (and `out`
// unchanged) when the item has no STIX form: a value StixPattern refuses
// (not normalized), which StixIndicator cannot represent either.
bool AppendStixIndicatorJson(const ExportItem& item, std::string& out);

// Appends `text` as a JSON string exactly as nlohmann's dump writes it
// (ensure_ascii off, invalid UTF-8 replaced by U+FFFD).
void AppendJsonString(std::string_view text, std::string& out);

}  // namespace caravan::protocol
