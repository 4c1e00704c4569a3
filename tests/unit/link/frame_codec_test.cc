// The socket-free parts of the link: application framing, reassembly, the
// link's own messages and the dial backoff.
#include "daemon/link/frame_codec.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "daemon/link/backoff.h"
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

TEST(SplitAppMessage, SmallMessageIsOneChunkWithBigEndianLength) {
  std::vector<uint8_t> message = TextBytes(10, 'x');
  auto chunks = SplitAppMessage(message);
  ASSERT_EQ(chunks.size(), 1u);
  const size_t n = message.size();
  ASSERT_EQ(chunks[0].size(), 4 + n);
  EXPECT_EQ(chunks[0][0], uint8_t(n >> 24));
  EXPECT_EQ(chunks[0][1], uint8_t(n >> 16));
  EXPECT_EQ(chunks[0][2], uint8_t(n >> 8));
  EXPECT_EQ(chunks[0][3], uint8_t(n));
  EXPECT_EQ(0, std::memcmp(chunks[0].data() + 4, message.data(), n));
}

TEST(SplitAppMessage, LargeMessageFillsEveryChunkButTheLast) {
  std::vector<uint8_t> message = TextBytes(1 << 20, 'y');
  auto chunks = SplitAppMessage(message);
  ASSERT_GT(chunks.size(), 16u);
  size_t total = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i + 1 < chunks.size()) {
      EXPECT_EQ(chunks[i].size(), crypto::kNoiseMaxPayload);
    }
    EXPECT_LE(chunks[i].size(), crypto::kNoiseMaxPayload);
    total += chunks[i].size();
  }
  EXPECT_EQ(total, message.size() + 4);
}

TEST(AppMessageAssembler, ReassemblesAcrossChunksAndMessages) {
  std::vector<uint8_t> big = TextBytes(200000, 'b');
  std::vector<uint8_t> small = TextBytes(3, 's');
  // Two messages back to back, re-cut at odd boundaries (a peer may cut the
  // stream anywhere).
  std::vector<uint8_t> stream;
  for (const auto* m : {&big, &small}) {
    for (auto& c : SplitAppMessage(*m)) stream.insert(stream.end(), c.begin(), c.end());
  }
  AppMessageAssembler assembler(1 << 20);
  std::vector<std::vector<capnp::word>> out;
  size_t offset = 0;
  size_t step = 1;
  while (offset < stream.size()) {
    const size_t take = std::min(step, stream.size() - offset);
    ASSERT_TRUE(assembler.Append(std::span(stream).subspan(offset, take), &out).ok());
    offset += take;
    step = step * 7 % 70001 + 1;
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(IsTextMessage(out[0], 200000, 'b'));
  EXPECT_TRUE(IsTextMessage(out[1], 3, 's'));
  EXPECT_EQ(assembler.pending_bytes(), 0u);
}

TEST(AppMessageAssembler, ByteAtATime) {
  std::vector<uint8_t> message = TextBytes(100, 'q');
  auto chunks = SplitAppMessage(message);
  AppMessageAssembler assembler(1 << 20);
  std::vector<std::vector<capnp::word>> out;
  for (uint8_t b : chunks[0]) {
    ASSERT_TRUE(assembler.Append(std::span(&b, 1), &out).ok());
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(IsTextMessage(out[0], 100, 'q'));
}

TEST(AppMessageAssembler, RefusesDeclaredLengthAboveLimitBeforeBuffering) {
  AppMessageAssembler assembler(1024);
  std::vector<std::vector<capnp::word>> out;
  const uint8_t header[4] = {0, 0, 4, 8};  // 1032 > 1024
  Status s = assembler.Append(header, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("exceeds the limit"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
  // The stream stays broken.
  const uint8_t more[4] = {0, 0, 0, 8};
  EXPECT_FALSE(assembler.Append(more, &out).ok());
}

TEST(AppMessageAssembler, AcceptsExactlyTheLimit) {
  AppMessageAssembler assembler(1024);
  std::vector<std::vector<capnp::word>> out;
  std::vector<uint8_t> bytes = {0, 0, 4, 0};
  bytes.resize(4 + 1024);
  EXPECT_TRUE(assembler.Append(bytes, &out).ok());
  EXPECT_EQ(out.size(), 1u);
}

TEST(AppMessageAssembler, RefusesLengthsThatAreNotWholeWords) {
  for (uint8_t n : {0, 4, 9}) {
    AppMessageAssembler assembler(1024);
    std::vector<std::vector<capnp::word>> out;
    const uint8_t header[4] = {0, 0, 0, n};
    EXPECT_EQ(assembler.Append(header, &out).code(), StatusCode::kInvalidInput) << int(n);
  }
}

TEST(InspectPeerMessage, KnowsPingPongByeAndApplication) {
  auto as_words = [](const std::vector<uint8_t>& bytes) {
    std::vector<capnp::word> words(bytes.size() / 8);
    std::memcpy(static_cast<void*>(words.data()), bytes.data(), bytes.size());
    return words;
  };
  auto ping = InspectPeerMessage(as_words(PingMessage(42)), 1 << 20);
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping->kind, InboundMessage::kPing);
  EXPECT_EQ(ping->nonce, 42u);
  auto pong = InspectPeerMessage(as_words(PongMessage(7)), 1 << 20);
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->kind, InboundMessage::kPong);
  EXPECT_EQ(pong->nonce, 7u);
  auto bye = InspectPeerMessage(as_words(ByeMessage("going away")), 1 << 20);
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye->kind, InboundMessage::kBye);
  EXPECT_EQ(bye->reason, "going away");
  auto app = InspectPeerMessage(as_words(TextBytes(5, 'a')), 1 << 20);
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->kind, InboundMessage::kApplication);
}

TEST(InspectPeerMessage, RefusesGarbageAndOverLimitTraversal) {
  std::vector<capnp::word> garbage(4);
  std::memset(static_cast<void*>(garbage.data()), 0xff, garbage.size() * 8);
  EXPECT_EQ(InspectPeerMessage(garbage, 1 << 20).status().code(), StatusCode::kInvalidInput);
  // The limits the sync layer reads peer messages with.
  EXPECT_EQ(PeerReaderOptions(1024).traversalLimitInWords, 128u);
  EXPECT_EQ(PeerReaderOptions(1024).nestingLimit, kPeerNestingLimit);
}

TEST(SealFrame, PrefixesCiphertextLengthAndRoundTrips) {
  std::array<uint8_t, 32> key{};
  key.fill(9);
  crypto::CipherState send(key), receive(key);
  std::vector<uint8_t> plain = {1, 2, 3};
  auto frame = SealFrame(send, plain);
  ASSERT_TRUE(frame.has_value());
  ASSERT_EQ(frame->size(), 2 + 3 + 16u);
  EXPECT_EQ((*frame)[0], 0);
  EXPECT_EQ((*frame)[1], 19);
  auto length = ParseTransportFrameLength(std::span<const uint8_t, 2>(frame->data(), 2));
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(*length, 19u);
  auto back = receive.Decrypt(std::span(*frame).subspan(2));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, plain);
  // Largest plaintext fits exactly one 65535-byte Noise message.
  std::vector<uint8_t> max_plain(crypto::kNoiseMaxPayload);
  auto max_frame = SealFrame(send, max_plain);
  ASSERT_TRUE(max_frame.has_value());
  EXPECT_EQ((*max_frame)[0], 0xff);
  EXPECT_EQ((*max_frame)[1], 0xff);
  std::vector<uint8_t> too_big(crypto::kNoiseMaxPayload + 1);
  EXPECT_FALSE(SealFrame(send, too_big).has_value());
}

TEST(ParseTransportFrameLength, RefusesFramesShorterThanATag) {
  const uint8_t h[2] = {0, 15};
  EXPECT_EQ(ParseTransportFrameLength(std::span<const uint8_t, 2>(h, 2)).status().code(),
            StatusCode::kInvalidInput);
}

TEST(Backoff, JitterStaysWithinTwentyPercent) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ApplyJitter(milliseconds(1000), 0), milliseconds(800));
  EXPECT_EQ(ApplyJitter(milliseconds(1000), 200), milliseconds(1000));
  EXPECT_EQ(ApplyJitter(milliseconds(1000), 400), milliseconds(1200));
  EXPECT_EQ(ApplyJitter(milliseconds(1000), 9999), milliseconds(1200));
}

TEST(Backoff, DoublesToTheMaximumAndResets) {
  using std::chrono::milliseconds;
  Backoff backoff(std::chrono::seconds(1), std::chrono::seconds(10));
  const milliseconds expected[] = {milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                   milliseconds(8000), milliseconds(10000), milliseconds(10000)};
  for (milliseconds base : expected) {
    EXPECT_EQ(backoff.base(), base);
    const milliseconds d = backoff.Next();
    EXPECT_GE(d, base * 8 / 10);
    EXPECT_LE(d, base * 12 / 10);
  }
  backoff.Reset();
  EXPECT_EQ(backoff.base(), milliseconds(1000));
}

}  // namespace
}  // namespace caravan::daemon::link
