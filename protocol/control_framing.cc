#include "protocol/control_framing.h"

#include <capnp/serialize.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

namespace caravan::protocol {

Result<std::vector<uint8_t>> FrameMessageWithin(capnp::MessageBuilder& message,
                                                size_t max_bytes) {
  // The size is known without flattening: a message over the limit never
  // costs a second copy of itself.
  const size_t size = capnp::computeSerializedSizeInWords(message) *
                      sizeof(capnp::word);
  const size_t limit = std::min(max_bytes, kMaxControlFrameLimit);
  if (size > limit) {
    return InvalidInput("control message of " + std::to_string(size) +
                        " bytes exceeds the frame limit of " +
                        std::to_string(limit) + " bytes");
  }
  kj::Array<capnp::word> flat = capnp::messageToFlatArray(message);
  auto bytes = flat.asBytes();
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  std::vector<uint8_t> out;
  out.reserve(kControlFrameHeaderBytes + bytes.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

std::vector<uint8_t> FrameMessage(capnp::MessageBuilder& message) {
  auto framed = FrameMessageWithin(message, kMaxControlFrameBytes);
  if (!framed.ok()) std::abort();  // a caller's bug: see the header
  return std::move(*framed);
}

capnp::ReaderOptions ControlReaderOptions(size_t max_frame_bytes) {
  capnp::ReaderOptions o;
  o.traversalLimitInWords =
      std::min(max_frame_bytes, kMaxControlFrameLimit) / sizeof(capnp::word);
  o.nestingLimit = 32;
  return o;
}

Result<uint32_t> ParseFrameHeader(std::span<const uint8_t, 4> h,
                                  size_t max_bytes) {
  const uint32_t n = uint32_t(h[0]) | uint32_t(h[1]) << 8 |
                     uint32_t(h[2]) << 16 | uint32_t(h[3]) << 24;
  if (n == 0 || n % sizeof(capnp::word) != 0 || n > max_bytes) {
    return InvalidInput("control frame: declared length " + std::to_string(n) +
                        " is not a positive multiple of 8 up to " +
                        std::to_string(max_bytes));
  }
  return n;
}

FrameDecoder::FrameDecoder(size_t max_frame_bytes)
    : max_frame_bytes_(std::clamp<size_t>(max_frame_bytes, sizeof(capnp::word),
                                          kMaxControlFrameLimit)) {}

void FrameDecoder::Append(std::span<const uint8_t> bytes) {
  if (error_) return;  // the stream is dead; do not grow
  // Drop the consumed prefix before growing, so a long-lived connection
  // holds at most one partial frame plus one read.
  if (start_ > 0 && (start_ == buffer_.size() || start_ >= 64 * 1024)) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<std::vector<capnp::word>>> FrameDecoder::Next() {
  if (error_) return *error_;
  if (buffered() < kControlFrameHeaderBytes) return std::optional<std::vector<capnp::word>>();
  const uint8_t* h = buffer_.data() + start_;
  auto n = ParseFrameHeader(std::span<const uint8_t, 4>(h, 4), max_frame_bytes_);
  if (!n.ok()) {
    error_ = n.status();
    buffer_ = {};  // give the memory back, not just the length
    start_ = 0;
    return *error_;
  }
  if (buffered() < kControlFrameHeaderBytes + *n) {
    return std::optional<std::vector<capnp::word>>();
  }
  std::vector<capnp::word> words(*n / sizeof(capnp::word));
  std::memcpy(words.data(), h + kControlFrameHeaderBytes, *n);
  start_ += kControlFrameHeaderBytes + *n;
  return std::optional<std::vector<capnp::word>>(std::move(words));
}

}  // namespace caravan::protocol
