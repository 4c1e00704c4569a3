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

// The texts derived from an origin key (its identity id, a BLAKE2b hash,
// and its key text), kept for the last origin seen: the objects of one
// page mostly share an origin. One thread at a time.
class StixOriginTexts {
 public:
  void For(const PublicKey& origin);
  const std::string& identity_id() const { return identity_id_; }
  const std::string& key_text() const { return key_text_; }

 private:
  bool set_ = false;
  PublicKey origin_{};
  std::string identity_id_;
  std::string key_text_;
};

// Appends the JSON text of StixIndicator(item) to `out`. False (and `out`
// unchanged) when the item has no STIX form: a value StixPattern refuses
// (not normalized), which StixIndicator cannot represent either.
// `origin_texts` (may be null) saves re-deriving an origin's texts.
bool AppendStixIndicatorJson(const ExportItem& item, std::string& out,
                             StixOriginTexts* origin_texts = nullptr);

// Appends StixTimeMillis(unix_millis) (unquoted) without going through
// snprintf for years 0000..9999; the same text for any value.
void AppendStixTimeMillis(int64_t unix_millis, std::string& out);

// Appends `text` as a JSON string exactly as nlohmann's dump writes it
// (ensure_ascii off, invalid UTF-8 replaced by U+FFFD).
void AppendJsonString(std::string_view text, std::string& out);

}  // namespace caravan::protocol
