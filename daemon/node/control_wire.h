#pragma once
// Conversions between control-protocol readers and the node's own types,
// shared by the dispatcher's files.

#include <string>

#include "daemon/node/submitter.h"
#include "protocol/control.capnp.h"

namespace caravan::daemon {

// Bounds for one control request (a bulk submit sends many of them).
inline constexpr size_t kMaxSubmitBatch = 10000;

// The text of a Cap'n Proto field as a std::string.
inline std::string Str(capnp::Text::Reader text) {
  return std::string(text.cStr(), text.size());
}

SubmissionInput SubmissionFromWire(protocol::wire::Submission::Reader s);

}  // namespace caravan::daemon
