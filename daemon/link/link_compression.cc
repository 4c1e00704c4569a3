#include "daemon/link/link_compression.h"

#include <zstd.h>

#include <cstdlib>
#include <string>

namespace caravan::daemon::link {

namespace {

std::string ZstdError(size_t code) { return ZSTD_getErrorName(code); }

}  // namespace

void OfferCompression(protocol::wire::Hello::Builder hello,
                      protocol::LinkCompression mode) {
  if (mode == protocol::LinkCompression::kOff) return;
  auto list = hello.initCompression(1);
  list.set(0, capnp::Text::Reader(kZstdCodecName.data(), kZstdCodecName.size()));
}

bool OffersZstd(protocol::wire::Hello::Reader hello) {
  if (!hello.hasCompression()) return false;
  auto list = hello.getCompression();
  const size_t n = std::min<size_t>(list.size(), kMaxOfferedCodecs);
  for (size_t i = 0; i < n; ++i) {
    auto name = list[i];
    if (std::string_view(name.begin(), name.size()) == kZstdCodecName) return true;
  }
  return false;
}

bool IsCompressible(protocol::wire::PeerMessage::Which kind) {
  return kind != protocol::wire::PeerMessage::SEALED;
}

struct MessageCompressor::Context {
  ZSTD_CCtx* cctx = nullptr;
  ~Context() { ZSTD_freeCCtx(cctx); }
};

MessageCompressor::MessageCompressor(int level) : context_(std::make_unique<Context>()) {
  context_->cctx = ZSTD_createCCtx();
  // Out of memory at link setup: nothing sensible to continue with.
  if (context_->cctx == nullptr) std::abort();
  ZSTD_CCtx_setParameter(context_->cctx, ZSTD_c_compressionLevel, level);
  // The receiver refuses frames without a declared size (bounded decode).
  ZSTD_CCtx_setParameter(context_->cctx, ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(context_->cctx, ZSTD_c_checksumFlag, 0);
}

MessageCompressor::~MessageCompressor() = default;

std::optional<std::vector<uint8_t>> MessageCompressor::Compress(
    std::span<const uint8_t> message) {
  if (message.size() < 2) return std::nullopt;
  // A destination one byte smaller than the input is the ratio check: zstd
  // gives up with dstSize_tooSmall as soon as the frame would not be smaller.
  std::vector<uint8_t> out(message.size() - 1);
  const size_t n = ZSTD_compress2(context_->cctx, out.data(), out.size(), message.data(),
                                  message.size());
  if (ZSTD_isError(n)) {
    // The context keeps its parameters; only the frame in progress is dropped.
    ZSTD_CCtx_reset(context_->cctx, ZSTD_reset_session_only);
    return std::nullopt;
  }
  out.resize(n);
  return out;
}

struct MessageDecompressor::Context {
  ZSTD_DCtx* dctx = nullptr;
  ~Context() { ZSTD_freeDCtx(dctx); }
};

MessageDecompressor::MessageDecompressor() : context_(std::make_unique<Context>()) {
  context_->dctx = ZSTD_createDCtx();
  if (context_->dctx == nullptr) std::abort();
  // Only ever used in one shot into a caller-sized buffer (no window
  // buffer is allocated then); the cap also bounds any streaming use.
  ZSTD_DCtx_setParameter(context_->dctx, ZSTD_d_windowLogMax, 24);
}

MessageDecompressor::~MessageDecompressor() = default;

Result<std::vector<capnp::word>> MessageDecompressor::Decompress(
    std::span<const uint8_t> frame, size_t max_message_bytes) {
  const size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size)) {
    return InvalidInput("corrupt zstd frame: " + ZstdError(frame_size));
  }
  if (frame_size != frame.size()) {
    return InvalidInput("compressed message holds " +
                        std::to_string(frame.size() - frame_size) +
                        " bytes after its zstd frame");
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return InvalidInput("corrupt zstd frame header");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    return InvalidInput("zstd frame does not declare its decompressed size");
  }
  // Checked before anything is allocated.
  if (declared > max_message_bytes) {
    return InvalidInput("compressed message declares " + std::to_string(declared) +
                        " bytes, above the limit of " + std::to_string(max_message_bytes));
  }
  if (declared < sizeof(capnp::word) || declared % sizeof(capnp::word) != 0) {
    return InvalidInput("compressed message declares " + std::to_string(declared) +
                        " bytes, not a whole number of Cap'n Proto words");
  }
  std::vector<capnp::word> words(declared / sizeof(capnp::word));
  const size_t n = ZSTD_decompressDCtx(context_->dctx, words.data(), declared, frame.data(),
                                       frame.size());
  if (ZSTD_isError(n)) {
    ZSTD_DCtx_reset(context_->dctx, ZSTD_reset_session_only);
    return InvalidInput("corrupt zstd frame: " + ZstdError(n));
  }
  if (n != declared) {
    return InvalidInput("zstd frame decoded to " + std::to_string(n) + " bytes, not the " +
                        std::to_string(declared) + " it declared");
  }
  return words;
}

}  // namespace caravan::daemon::link
