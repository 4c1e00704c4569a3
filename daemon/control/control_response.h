#pragma once
// Builders for framed control Responses (protocol/control.capnp), shared by
// the control server (transport errors) and the request handlers.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/control_framing.h"
#include "protocol/status.h"

namespace caravan::daemon {

// A Response carrying `status` (must not be ok) and no payload.
std::vector<uint8_t> ErrorResponse(const Status& status);

// An ok Response with no payload; `message` is shown to the operator.
std::vector<uint8_t> OkResponse(std::string_view message = {});

// An ok Response whose payload is one JSON document; an InvalidInput error
// Response when that would not fit in `max_frame_bytes`.
std::vector<uint8_t> JsonResponse(
    std::string_view json, size_t max_frame_bytes = protocol::kMaxControlFrameBytes);

}  // namespace caravan::daemon
