#pragma once
// Spool format detection: which reader a file dropped into the spool
// directory gets, from its name and the first bytes of its content
// (docs/spool.md, "Formats").
//
// By extension first: .txt/.list/.lst, .csv, .jsonl/.ndjson name their
// format outright; .json is a JSON document whose top-level keys say
// whether it is a STIX 2.1 bundle (or TAXII envelope, or one STIX object),
// a MISP event, or JSON lines. Any other name is sniffed from the content:
// a JSON object is classified the same way, a first line with a `value`
// column is CSV, other text is a plain list. Content with NUL or other
// control bytes, or that is not UTF-8, is no supported format at all.
//
// Input is untrusted: only `head` (at most kSpoolSniffBytes, the caller
// cuts it) is looked at, and the JSON key scanner is a bounded single pass
// that never builds a document. Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace caravan::feeds {

// How much of a file the sniffer looks at.
inline constexpr size_t kSpoolSniffBytes = 64 * 1024;

enum class SpoolFormat { kTxt, kCsv, kJsonl, kStix, kMisp };

// "txt", "csv", "jsonl", "stix", "misp".
std::string_view SpoolFormatName(SpoolFormat format);

// The format of a file named `name` (no directory) whose content starts
// with `head` (the whole file when it is shorter than kSpoolSniffBytes).
// On failure: kInvalidInput saying why no reader fits ("binary content:
// byte 0x1f at offset 1", "JSON document is neither a STIX bundle nor a
// MISP event (top-level keys: a, b)").
Result<SpoolFormat> DetectSpoolFormat(std::string_view name,
                                      std::string_view head);

// What the JSON key scanner saw of the first JSON value in `text`.
struct JsonHead {
  bool is_object = false;  // the first non-space byte is '{'
  bool closed = false;     // the object ended within `text`
  size_t end = 0;          // offset just past its closing '}' when closed
  std::vector<std::string> keys;  // top-level keys in order (at most 64)
  std::string type;  // the top-level "type" string value, if any (<= 64 B)
  bool malformed = false;  // a byte that cannot be JSON where it is
};

// Scans the first JSON value of `text` (after an optional UTF-8 BOM and
// white space) without building it: collects the top-level keys and the
// "type" value. Stops at the end of the value or of `text`. Never fails.
JsonHead ScanJsonHead(std::string_view text);

}  // namespace caravan::feeds
