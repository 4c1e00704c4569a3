#pragma once
// Fills control-protocol Submissions from CLI flags and bulk-file lines.
// The CLI only moves text: the daemon parses, refangs and validates every
// field again, so a broken CLI cannot store what the daemon would refuse.

#include <cstdint>
#include <string>

#include "protocol/formats/bulk_reader.h"
#include "protocol/control.capnp.h"
#include "protocol/status.h"
#include "tools/commands.h"

namespace caravan::tools {

// Parses a --valid-until value: RFC 3339, or a duration counted from now
// ("30d" = thirty days from now). Empty: 0 (unset).
Result<int64_t> ParseValidUntil(const std::string& text, int64_t now);

// One indicator from flags.
Status FillSubmission(protocol::wire::Submission::Builder out,
                      const SubmitContext& context, const std::string& type,
                      const std::string& value, uint64_t line);

// One indicator from a bulk line; fields the line leaves empty come from
// `defaults`.
Status FillSubmission(protocol::wire::Submission::Builder out,
                      const SubmitContext& defaults,
                      const protocol::BulkItem& item);

}  // namespace caravan::tools
