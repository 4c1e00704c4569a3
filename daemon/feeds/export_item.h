#pragma once
// ExportItem loading: the bridge between the store's current views and the
// pure STIX/MISP exporters (protocol/formats/stix.h, protocol/formats/misp.h). Used by the
// control export (`caravan export --format stix|misp`) and the TAXII server.
//
// Also the base64 text of signed record bytes, which is how the control
// protocol carries them to the CLI inside the export JSON.
//
// Functions only; thread-safety is the Reader's (one thread at a time).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/store/reader.h"
#include "daemon/store/store_types.h"
#include "protocol/formats/stix.h"
#include "protocol/status.h"

namespace caravan::feeds {

// The export item of `row`'s current view: the body decoded from the stored
// signed record (so what is exported is exactly what the origin signed),
// the signed record bytes, `first_created` from revision 1, and the STIX
// id a TAXII client posted for it (stix_id, when one was). Fails with
// the store's status when the record cannot be read, Corrupt when its bytes
// do not decode.
Result<protocol::ExportItem> LoadExportItem(store::Reader& reader,
                                            const store::IndicatorRow& row);

// The export item of one logged record (TAXII serves object versions from
// the log). `first_created` is left 0 (unknown). Corrupt when the bytes do
// not decode.
Result<protocol::ExportItem> ExportItemFromRecord(
    const store::StoredRecord& record, std::string origin_name,
    std::string origin_country);
// The same, taking the record's signed bytes instead of copying them (the
// TAXII listing serves each record once).
Result<protocol::ExportItem> ExportItemFromRecord(
    store::StoredRecord&& record, std::string origin_name,
    std::string origin_country);

// Standard base64 with padding (libsodium's original variant).
std::string ToBase64(std::span<const uint8_t> bytes);
// Strict inverse of ToBase64; nullopt on any bad character or length.
std::optional<std::vector<uint8_t>> FromBase64(std::string_view text);

}  // namespace caravan::feeds
