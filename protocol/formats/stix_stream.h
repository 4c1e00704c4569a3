#pragma once
// Streaming STIX import: a bundle, TAXII envelope or single object of any
// size read from a stream in constant memory (docs/stix.md, "Streaming
// import"), with the same per-object mapping as ImportStixBundle.
//
// Two passes over the stream: the first checks the whole document (JSON
// syntax, nesting, shape: what ImportStixBundle would refuse is refused
// here, before any object is handed over); the second hands over each
// object's items and skips as it reads them. No limit on the document's
// size or object count; each object is bounded by kMaxStreamObjectBytes
// (a larger one is skipped, naming its index and byte offset). Differences
// from ImportStixBundle: no kMaxStixBytes / kMaxStixObjects, and a repeated
// "type" or "objects" member at the top level is refused (the whole-document
// parser silently keeps the last one).
//
// One thread; the stream must be seekable (it is rewound between passes).

#include <cstdint>
#include <functional>
#include <istream>

#include "protocol/formats/stix.h"
#include "protocol/status.h"

namespace caravan::protocol {

// The largest object (one element of "objects", or one attribute for
// MISP) a streaming import builds in memory, counted as its JSON text plus
// 32 bytes per value.
inline constexpr size_t kMaxStreamObjectBytes = 2 * 1024 * 1024;

struct StixStreamSink {
  // Each item as its object is read; a failure stops the import (Run
  // returns it).
  std::function<Status(StixImportItem&&)> item;
  std::function<void(const StixSkipped&)> skipped;
};

struct StixStreamTotals {
  size_t objects = 0;        // objects seen
  size_t other_objects = 0;  // objects of other types (ignored)
  size_t items = 0;          // handed to sink.item
  size_t skipped = 0;        // handed to sink.skipped
};

// Reads the document in `in` from its current position (twice). Fails
// (InvalidInput) as ImportStixBundle does for a document that is not
// JSON, too deeply nested or of no STIX shape, and with the first failure
// of sink.item.
Result<StixStreamTotals> StreamStixImport(std::istream& in, const StixStreamSink& sink);

}  // namespace caravan::protocol
