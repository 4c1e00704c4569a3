#pragma once
// MISP import (event JSON, feed directories) and export (feed directories)
// of caravan indicators. docs/stix.md ("MISP") has the full mapping.
//
// Import maps MISP attribute types onto caravan types (composite types give
// their indicator part, domain|ip gives both), `tlp:` tags onto TLP (an
// attribute's tag wins over the event's), other tags onto tags, comment onto
// description. Attributes of types caravan does not store, deleted
// attributes and values that do not normalize are reported, one line each,
// never guessed. to_ids=false attributes are imported with the tag
// "misp:to_ids=false" (context attributes of real events, e.g. every
// attribute of ESET's OceanLotus event, would otherwise be lost).
//
// Export writes one event per origin CERT (uuid derived from the origin
// key, so a re-export replaces the event instead of adding one), attributes
// with uuids derived from caravan ids, and manifest.json.
//
// Input is untrusted: sizes, attribute and event counts are bounded. Pure
// functions except the directory functions, which touch only `dir`.
// Thread-safe.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/formats/bulk_reader.h"
#include "protocol/formats/stix.h"
#include "protocol/status.h"

namespace caravan::protocol {

inline constexpr size_t kMaxMispBytes = 64 * 1024 * 1024;  // per file
inline constexpr size_t kMaxMispAttributes = 250'000;      // per import
inline constexpr size_t kMaxMispFeedEvents = 10'000;       // per feed dir

// Tag added on import to attributes MISP marks not for detection, and
// honoured on export (to_ids false, tag dropped).
inline constexpr std::string_view kMispNotToIdsTag = "misp:to_ids=false";

struct MispImportItem {
  BulkItem item;  // value normalized; line = 1-based attribute number in the import
  std::string event_uuid;
  std::string attribute_uuid;
  std::string misp_type;  // the attribute's MISP type
};

struct MispSkipped {
  std::string event_uuid;
  std::string attribute_uuid;  // "" for event-level problems
  std::string reason;          // "attribute <uuid> (regkey|value): MISP type ..."
};

struct MispImport {
  std::vector<MispImportItem> items;
  std::vector<MispSkipped> skipped;
  size_t events = 0;
  size_t attributes = 0;  // attributes seen, Object attributes included
};

// What an event gives each of its attributes: its uuid, its TLP tag (the
// most restrictive) and its other tags.
struct MispEventContext {
  std::string uuid;
  std::optional<Tlp> tlp;
  std::vector<std::string> tags;
};
// From the event object's "uuid" and "Tag" (other members are not read).
MispEventContext MispEventContextOf(const nlohmann::json& event);
// Maps one attribute of an event (or of one of its Objects) into `out`,
// counting it in out->attributes: what ImportMispEvent does per attribute;
// the streaming importer (misp_stream.h) calls it for each one it reads.
void ImportMispAttribute(const nlohmann::json& attribute,
                         const MispEventContext& event, MispImport* out);

// Imports `{"Event": {...}}`, a bare event object, or a REST response
// `{"response": [{"Event": {...}}, ...]}`. Fails (InvalidInput) when the
// text is over kMaxMispBytes, not JSON, too deeply nested, holds more than
// kMaxMispAttributes attributes, or has no event; bad attributes are
// reported in `skipped`.
Result<MispImport> ImportMispEvent(std::string_view json_text);

// Reads `dir`/manifest.json and every `<uuid>.json` it lists. A missing or
// bad event file is reported in `skipped` and the rest imported. Fails when
// the manifest is missing, unreadable, not a JSON object, or lists more
// than kMaxMispFeedEvents events; keys that are not UUIDs are reported
// (they would name paths outside the feed).
Result<MispImport> ImportMispFeedDir(const std::filesystem::path& dir);

// The MISP event (feed format, `{"Event": {...}}`) for items that all share
// one origin. Never fails.
nlohmann::json MispEventFor(const std::vector<ExportItem>& items);

// The pieces of MispEventFor, for writers that stream: one attribute, the
// event without "Attribute" (`newest` = latest created, `event_tlp` = most
// restrictive TLP of its attributes), and an event's manifest.json entry.
nlohmann::json MispAttributeFor(const ExportItem& item);
nlohmann::json MispEventShell(const PublicKey& origin, std::string_view name,
                              std::string_view country, int64_t newest, Tlp event_tlp);
nlohmann::json MispManifestEntry(const nlohmann::json& event);

struct MispFeedWritten {
  std::vector<std::string> event_uuids;  // one per origin, in first-seen order
  size_t attributes = 0;
};

// Writes one `<uuid>.json` per origin CERT and manifest.json (last, each
// file through a temporary name and rename, so a reader never sees a
// partial file) into `dir`, creating it if needed. Fails (Unavailable)
// naming the path when a file cannot be written.
Result<MispFeedWritten> WriteMispFeed(const std::filesystem::path& dir,
                                      const std::vector<ExportItem>& items);

}  // namespace caravan::protocol
