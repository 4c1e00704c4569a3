#pragma once
// Streaming MISP import: `{"Event": …}`, a bare event or a REST response
// `{"response": [{"Event": …}, …]}` of any size read from a stream in
// constant memory (docs/stix.md, "Streaming import"), with the same
// per-attribute mapping as ImportMispEvent.
//
// Two passes over the stream: the first checks the whole document (JSON
// syntax, nesting, shape: what ImportMispEvent would refuse is refused
// here, before any attribute is handed over) and keeps each event's
// context (uuid and tags: MISP writes "Tag" after "Attribute", so the
// context is only known at the event's end); the second hands over the
// items of each attribute of "Attribute" and of "Object"[]."Attribute"
// as it reads them. Attributes come in document order (an
// event's Object attributes before its own when the document lists
// "Object" first; ImportMispEvent always takes "Attribute" first), so
// item line numbers may differ from ImportMispEvent's; the items are the
// same. No limit on the document's size or attribute count; each
// attribute is bounded by kMaxStreamObjectBytes (a larger one is skipped,
// naming its byte offset). A member that decides the shape ("response",
// "Event", "Attribute", "Object") repeated in one object is refused (the
// whole-document parser silently keeps the last one). Memory grows only
// with the number of events (their uuid and tags).
//
// One thread; the stream must be seekable (it is rewound between passes).

#include <cstdint>
#include <functional>
#include <istream>

#include "protocol/formats/misp.h"
#include "protocol/formats/stix_stream.h"  // kMaxStreamObjectBytes
#include "protocol/status.h"

namespace caravan::protocol {

struct MispStreamSink {
  // Each item as its attribute is read; a failure stops the import.
  std::function<Status(MispImportItem&&)> item;
  std::function<void(const MispSkipped&)> skipped;
};

struct MispStreamTotals {
  size_t events = 0;
  size_t attributes = 0;  // attributes seen, Object attributes included
  size_t items = 0;       // handed to sink.item
  size_t skipped = 0;     // handed to sink.skipped
};

// Reads the document in `in` from its current position (twice). Fails
// (InvalidInput) as ImportMispEvent does for a document that is not JSON,
// too deeply nested or holds no event, and with the first failure of
// sink.item.
Result<MispStreamTotals> StreamMispImport(std::istream& in, const MispStreamSink& sink);

}  // namespace caravan::protocol
