// Link compression (docs/wire.md 4.3): the zstd codec on its own, the
// compressed framing through SplitAppMessage and AppMessageAssembler, and
// the Hello negotiation helpers.
#include "daemon/link/link_compression.h"

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <zstd.h>

#include <cstring>
#include <string>

#include "daemon/link/frame_codec.h"
#include "tests/unit/link/link_test_util.h"

namespace caravan::daemon::link {
namespace {

using testing::BuildTextMessage;
using testing::IsTextMessage;

std::vector<uint8_t> TextBytes(size_t size, char seed) {
  capnp::MallocMessageBuilder builder;
  BuildTextMessage(builder, size, seed);
  return SerializeMessage(builder);
}

// A zstd frame of `plain` made by hand, so tests can choose what a hostile
// peer would: no declared size, a declared size above the limit.
std::vector<uint8_t> RawZstd(const std::vector<uint8_t>& plain, bool declare_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, declare_size ? 1 : 0);
  std::vector<uint8_t> out(ZSTD_compressBound(plain.size()));
  size_t n = 0;
  if (declare_size) {
    n = ZSTD_compress2(cctx, out.data(), out.size(), plain.data(), plain.size());
  } else {
    // Streaming without a pledged size leaves the frame's size unknown.
    ZSTD_inBuffer in{plain.data(), plain.size(), 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    n = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
    EXPECT_EQ(n, 0u);
    n = o.pos;
  }
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// The size of a zstd frame's header (RFC 8878 3.1.1.1): magic, descriptor,
// window descriptor, dictionary id, content size.
size_t FrameHeaderSize(const std::vector<uint8_t>& frame) {
  const uint8_t fhd = frame.at(4);
  const bool single_segment = (fhd & 0x20) != 0;
  const size_t fcs_sizes[4] = {single_segment ? 1u : 0u, 2, 4, 8};
  const size_t did_sizes[4] = {0, 1, 2, 4};
  return 4 + 1 + (single_segment ? 0 : 1) + did_sizes[fhd & 3] + fcs_sizes[fhd >> 6];
}

std::vector<uint8_t> AsBytes(const std::vector<capnp::word>& words) {
  const auto* p = reinterpret_cast<const uint8_t*>(words.data());
  return std::vector<uint8_t>(p, p + words.size() * sizeof(capnp::word));
}

std::vector<capnp::word> AsWords(const std::vector<uint8_t>& bytes) {
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), words.size() * sizeof(capnp::word));
  return words;
}

// Every chunk SplitAppMessage makes, concatenated: the plaintext stream.
std::vector<uint8_t> Stream(std::span<const uint8_t> message, bool compressed) {
  std::vector<uint8_t> stream;
  for (const auto& chunk : SplitAppMessage(message, compressed)) {
    stream.insert(stream.end(), chunk.begin(), chunk.end());
  }
  return stream;
}

TEST(MessageCompressor, RoundTripsAndShrinksRepetitiveMessages) {
  const std::vector<uint8_t> message = TextBytes(100000, 'r');
  MessageCompressor compressor(3);
  auto frame = compressor.Compress(message);
  ASSERT_TRUE(frame.has_value());
  EXPECT_LT(frame->size(), message.size() / 10);
  EXPECT_EQ(ZSTD_getFrameContentSize(frame->data(), frame->size()), message.size());
  MessageDecompressor decompressor;
  auto words = decompressor.Decompress(*frame, 1 << 20);
  ASSERT_TRUE(words.ok()) << words.status().message();
  EXPECT_EQ(AsBytes(*words), message);
  // The contexts are reused: a second message goes through the same ones.
  const std::vector<uint8_t> second = TextBytes(5000, 's');
  auto frame2 = compressor.Compress(second);
  ASSERT_TRUE(frame2.has_value());
  auto words2 = decompressor.Decompress(*frame2, 1 << 20);
  ASSERT_TRUE(words2.ok());
  EXPECT_EQ(AsBytes(*words2), second);
}

TEST(MessageCompressor, GivesUpOnIncompressibleBytes) {
  // Like a sealed envelope: ciphertext does not compress.
  std::vector<uint8_t> random(4096);
  randombytes_buf(random.data(), random.size());
  MessageCompressor compressor(3);
  EXPECT_FALSE(compressor.Compress(random).has_value());
  // And the context still works afterwards.
  EXPECT_TRUE(compressor.Compress(TextBytes(4096, 'z')).has_value());
}

TEST(MessageDecompressor, RefusesABombBeforeAllocating) {
  // 1 MiB of zeros compresses to a few dozen bytes; the limit is 64 KiB.
  const std::vector<uint8_t> zeros(1 << 20, 0);
  const auto frame = RawZstd(zeros, true);
  ASSERT_LT(frame.size(), 1024u);
  MessageDecompressor decompressor;
  auto words = decompressor.Decompress(frame, 64 * 1024);
  ASSERT_FALSE(words.ok());
  EXPECT_EQ(words.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(words.status().message().find("above the limit of 65536"), std::string::npos)
      << words.status().message();
}

TEST(MessageDecompressor, RefusesAFrameWithoutADeclaredSize) {
  const auto frame = RawZstd(std::vector<uint8_t>(1 << 20, 0), false);
  MessageDecompressor decompressor;
  auto words = decompressor.Decompress(frame, 64 * 1024);
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.status().message().find("does not declare"), std::string::npos)
      << words.status().message();
}

TEST(MessageDecompressor, RefusesCorruptTruncatedAndTrailingBytes) {
  const std::vector<uint8_t> message = TextBytes(20000, 'c');
  MessageCompressor compressor(3);
  const auto frame = *compressor.Compress(message);
  MessageDecompressor decompressor;

  // The first block's type set to 3, "reserved" (RFC 8878 3.1.1.2.2).
  // (Flipped literal bytes would decode to other text: zstd frames carry
  // no checksum here, Noise already authenticated every byte.)
  std::vector<uint8_t> corrupt = frame;
  const size_t header = FrameHeaderSize(frame);
  ASSERT_LT(header + 3, frame.size());
  corrupt[header] |= 0x06;
  auto r1 = decompressor.Decompress(corrupt, 1 << 20);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r1.status().message().find("corrupt zstd frame"), std::string::npos)
      << r1.status().message();

  std::vector<uint8_t> truncated(frame.begin(), frame.end() - 3);
  auto r2 = decompressor.Decompress(truncated, 1 << 20);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("corrupt zstd frame"), std::string::npos)
      << r2.status().message();

  std::vector<uint8_t> trailing = frame;
  trailing.insert(trailing.end(), {1, 2, 3});
  auto r3 = decompressor.Decompress(trailing, 1 << 20);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.status().message().find("after its zstd frame"), std::string::npos)
      << r3.status().message();

  std::vector<uint8_t> garbage(64, 0x42);
  EXPECT_FALSE(decompressor.Decompress(garbage, 1 << 20).ok());

  // After all that, the same decompressor still reads a good frame.
  auto good = decompressor.Decompress(frame, 1 << 20);
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(AsBytes(*good), message);
}

TEST(MessageDecompressor, RefusesContentThatIsNotWholeWords) {
  const std::vector<uint8_t> odd(1001, 'x');
  MessageDecompressor decompressor;
  auto words = decompressor.Decompress(RawZstd(odd, true), 1 << 20);
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.status().message().find("whole number"), std::string::npos);
}

TEST(CompressedFraming, LengthCarriesTheFlagAndTheAssemblerDecompresses) {
  const std::vector<uint8_t> message = TextBytes(300000, 'f');
  MessageCompressor compressor(3);
  const auto frame = *compressor.Compress(message);
  const auto stream = Stream(frame, true);
  const uint32_t n = static_cast<uint32_t>(frame.size());
  EXPECT_EQ(stream[0], uint8_t(0x80 | (n >> 24)));
  EXPECT_EQ(stream[1], uint8_t(n >> 16));
  EXPECT_EQ(stream[2], uint8_t(n >> 8));
  EXPECT_EQ(stream[3], uint8_t(n));

  // A compressed message between two plain ones, cut at odd boundaries.
  const std::vector<uint8_t> small = TextBytes(10, 'p');
  std::vector<uint8_t> all = Stream(small, false);
  all.insert(all.end(), stream.begin(), stream.end());
  const auto tail = Stream(small, false);
  all.insert(all.end(), tail.begin(), tail.end());
  AppMessageAssembler assembler(1 << 20, true);
  std::vector<std::vector<capnp::word>> out;
  for (size_t at = 0; at < all.size(); at += 777) {
    const size_t take = std::min<size_t>(777, all.size() - at);
    ASSERT_TRUE(assembler.Append(std::span(all).subspan(at, take), &out).ok());
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(IsTextMessage(out[0], 10, 'p'));
  EXPECT_TRUE(IsTextMessage(out[1], 300000, 'f'));
  EXPECT_TRUE(IsTextMessage(out[2], 10, 'p'));
  EXPECT_EQ(assembler.plain_bytes(), 2 * small.size() + message.size());
  EXPECT_EQ(assembler.carried_bytes(), 2 * small.size() + frame.size());
}

TEST(CompressedFraming, NodeWithCompressionOffRefusesACompressedMessage) {
  const std::vector<uint8_t> message = TextBytes(5000, 'o');
  MessageCompressor compressor(3);
  const auto stream = Stream(*compressor.Compress(message), true);
  AppMessageAssembler assembler(1 << 20, false);
  std::vector<std::vector<capnp::word>> out;
  Status s = assembler.Append(stream, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("did not offer compression"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
}

TEST(CompressedFraming, PlainMessagesPassThroughEitherWay) {
  const std::vector<uint8_t> message = TextBytes(5000, 'u');
  for (bool accept : {false, true}) {
    AppMessageAssembler assembler(1 << 20, accept);
    std::vector<std::vector<capnp::word>> out;
    ASSERT_TRUE(assembler.Append(Stream(message, false), &out).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(AsBytes(out[0]), message);
    EXPECT_EQ(assembler.plain_bytes(), assembler.carried_bytes());
  }
}

TEST(CompressedFraming, BombInsideTheStreamBreaksIt) {
  const auto frame = RawZstd(std::vector<uint8_t>(1 << 20, 0), true);
  AppMessageAssembler assembler(64 * 1024, true);
  std::vector<std::vector<capnp::word>> out;
  Status s = assembler.Append(Stream(frame, true), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("above the limit"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(assembler.Append(Stream(TextBytes(8, 'a'), false), &out).ok());
}

TEST(CompressedFraming, CompressedLengthsAreBoundedLikePlainOnes) {
  // Above the limit (flag set, 31-bit length 1032 > 1024), and too short.
  for (const std::vector<uint8_t>& header :
       {std::vector<uint8_t>{0x80, 0, 4, 8}, std::vector<uint8_t>{0x80, 0, 0, 0},
        std::vector<uint8_t>{0x80, 0, 0, 5}}) {
    AppMessageAssembler assembler(1024, true);
    std::vector<std::vector<capnp::word>> out;
    EXPECT_EQ(assembler.Append(header, &out).code(), StatusCode::kInvalidInput);
  }
}

TEST(HelloCompression, OffersZstdUnlessOff) {
  for (auto mode : {protocol::LinkCompression::kZstd, protocol::LinkCompression::kOff}) {
    capnp::MallocMessageBuilder builder;
    auto hello = builder.initRoot<protocol::wire::PeerMessage>().initHello();
    hello.setProtocolVersion(1);
    OfferCompression(hello, mode);
    const bool offered = mode == protocol::LinkCompression::kZstd;
    EXPECT_EQ(OffersZstd(hello.asReader()), offered);
    EXPECT_EQ(hello.hasCompression(), offered);  // off looks like an older node
    auto inspected = InspectPeerMessage(AsWords(SerializeMessage(builder)), 1 << 20);
    ASSERT_TRUE(inspected.ok());
    EXPECT_TRUE(inspected->hello);
    EXPECT_EQ(inspected->offers_zstd, offered);
  }
}

TEST(HelloCompression, UnknownCodecsAreIgnored) {
  capnp::MallocMessageBuilder builder;
  auto hello = builder.initRoot<protocol::wire::Hello>();
  auto list = hello.initCompression(2);
  list.set(0, "lz4");
  list.set(1, "zstd-dict-9");
  EXPECT_FALSE(OffersZstd(hello.asReader()));
  // Only the first kMaxOfferedCodecs entries count.
  auto many = hello.initCompression(kMaxOfferedCodecs + 1);
  for (size_t i = 0; i < kMaxOfferedCodecs; ++i) many.set(i, "x");
  many.set(kMaxOfferedCodecs, "zstd");
  EXPECT_FALSE(OffersZstd(hello.asReader()));
}

TEST(HelloCompression, SealedEnvelopesAreNeverCompressed) {
  EXPECT_FALSE(IsCompressible(protocol::wire::PeerMessage::SEALED));
  EXPECT_TRUE(IsCompressible(protocol::wire::PeerMessage::RECORDS));
}

}  // namespace
}  // namespace caravan::daemon::link
