#pragma once
// The document side of `caravan submit --format stix|misp`: opens the input
// as a seekable stream (stdin is first copied to an unlinked temporary
// file: the importers read twice) and streams it through the STIX or MISP
// importer (protocol/formats/stix_stream.h, misp_stream.h), reporting each
// object that is not imported on stderr. Memory stays bounded whatever the
// document's size.

#include <functional>
#include <istream>
#include <memory>
#include <string>

#include "protocol/formats/bulk_reader.h"
#include "protocol/status.h"

namespace caravan::tools {

// Where an import's outcomes go: each item to submit, and a count of each
// object skipped (its reason is already on stderr).
struct ImportEmit {
  std::function<Status(protocol::BulkItem&&)> item;
  std::function<void()> skipped;
};

// `path`, or stdin for "-" (copied to a temporary file that disappears
// with the stream).
Result<std::unique_ptr<std::istream>> OpenStructuredInput(const std::string& path);

// "stix" or "misp" from the first 4 KiB: an "Event" or "response" member
// is MISP, anything else STIX. Leaves `in` where it was.
std::string DetectJsonFormat(std::istream& in);

// Imports the document in `in` (format "stix" or "misp"); `source` names
// it in messages. Fails when the document is refused as a whole or when
// emit.item fails.
Status StreamStructured(std::istream& in, const std::string& format,
                        const std::string& source, const ImportEmit& emit);

}  // namespace caravan::tools
