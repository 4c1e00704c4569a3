#include "daemon/control/control_response.h"

#include <capnp/message.h>

#include <string>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"

namespace caravan::daemon {

namespace {

// Cap'n Proto text must be NUL-terminated; a string_view need not be.
void SetMessage(protocol::wire::Response::Builder response,
                std::string_view text) {
  // Messages may quote client input: bounded, so an error reply always
  // fits in a frame.
  constexpr size_t kMaxMessageBytes = 64 * 1024;
  const std::string copy(text.substr(0, kMaxMessageBytes));
  response.setMessage(capnp::Text::Reader(copy.c_str(), copy.size()));
}

}  // namespace

std::vector<uint8_t> ErrorResponse(const Status& status) {
  capnp::MallocMessageBuilder message;
  auto response = message.initRoot<protocol::wire::Response>();
  response.setCode(static_cast<uint8_t>(status.code()));
  SetMessage(response, status.message());
  response.setNone();
  return protocol::FrameMessage(message);
}

std::vector<uint8_t> OkResponse(std::string_view text) {
  capnp::MallocMessageBuilder message;
  auto response = message.initRoot<protocol::wire::Response>();
  response.setCode(0);
  SetMessage(response, text);
  response.setNone();
  return protocol::FrameMessage(message);
}

std::vector<uint8_t> JsonResponse(std::string_view json,
                                  size_t max_frame_bytes) {
  capnp::MallocMessageBuilder message;
  auto response = message.initRoot<protocol::wire::Response>();
  response.setCode(0);
  const std::string copy(json);
  response.setJson(capnp::Text::Reader(copy.c_str(), copy.size()));
  // A read's JSON grows with the store: too large is the client's to narrow
  // (a filter, a smaller limit), never an abort of the daemon.
  auto framed = protocol::FrameMessageWithin(message, max_frame_bytes);
  if (!framed.ok()) {
    return ErrorResponse(InvalidInput(
        "the reply is too large for one control frame (" +
        framed.status().message() + "): narrow the request"));
  }
  return std::move(*framed);
}

}  // namespace caravan::daemon
