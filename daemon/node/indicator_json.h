#pragma once
// The JSON documents the daemon returns for reads (`--json` prints them
// as they are, so these field names are the stable CLI contract in
// CONTRACT.md: snake_case, times in RFC 3339 UTC, null for unset).

#include <nlohmann/json.hpp>
#include <optional>

#include "daemon/store/reader.h"
#include "daemon/store/store_types.h"

namespace caravan::daemon {

// RFC 3339 UTC text, or null for 0 (unset).
nlohmann::json TimeOrNull(int64_t unix_seconds);

// One indicator's current view. `verified`: whether its record's signature
// was checked against the origin key (nullopt: not checked in this call).
nlohmann::json IndicatorJson(const store::IndicatorRow& row,
                             std::optional<bool> verified);

// {name, entry, forced} of a warninglist hit, null for none.
nlohmann::json WarninglistJson(const std::optional<store::WarninglistHit>& hit);

// Sets j["warninglist"] to {name, entry, forced} when `id` matched a
// warninglist (docs/warninglists.md), else null. Fails only when the store
// read fails.
Status AddWarninglistJson(store::Reader& reader, const store::IndicatorId& id,
                          nlohmann::json& j);

nlohmann::json AuditEntryJson(const store::AuditEntry& entry);

// Dumps with invalid UTF-8 replaced rather than throwing: values come from
// peers and files.
std::string DumpJson(const nlohmann::json& doc);

}  // namespace caravan::daemon
