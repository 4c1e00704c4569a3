#include "protocol/control_framing.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "protocol/control.capnp.h"

namespace caravan::protocol {
namespace {

std::vector<uint8_t> ShowFrame(const std::string& id) {
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Request>().setShow(id);
  return FrameMessage(m);
}

std::string ReadShow(const std::vector<capnp::word>& words) {
  capnp::FlatArrayMessageReader r(kj::arrayPtr(words.data(), words.size()),
                                  ControlReaderOptions());
  auto req = r.getRoot<wire::Request>();
  EXPECT_EQ(req.which(), wire::Request::SHOW);
  return req.getShow().cStr();
}

TEST(ControlFraming, HeaderIsLittleEndianLength) {
  const auto f = ShowFrame("abc");
  ASSERT_GE(f.size(), 4u);
  const uint32_t n = f[0] | f[1] << 8 | f[2] << 16 | uint32_t(f[3]) << 24;
  EXPECT_EQ(n, f.size() - 4);
  EXPECT_EQ(n % 8, 0u);
}

TEST(ControlFraming, FramesFedByteByByte) {
  std::vector<uint8_t> stream;
  for (const char* id : {"one", "two", "three"}) {
    auto f = ShowFrame(id);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameDecoder d;
  std::vector<std::string> got;
  for (uint8_t byte : stream) {
    d.Append(std::span<const uint8_t>(&byte, 1));
    for (;;) {
      auto next = d.Next();
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      if (!next->has_value()) break;
      got.push_back(ReadShow(**next));
    }
  }
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(ControlFraming, ManyFramesInOneAppend) {
  std::vector<uint8_t> stream;
  for (int i = 0; i < 100; ++i) {
    auto f = ShowFrame("id" + std::to_string(i));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameDecoder d;
  d.Append(stream);
  for (int i = 0; i < 100; ++i) {
    auto next = d.Next();
    ASSERT_TRUE(next.ok());
    ASSERT_TRUE(next->has_value());
    EXPECT_EQ(ReadShow(**next), "id" + std::to_string(i));
  }
  auto end = d.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

void ExpectRefused(std::vector<uint8_t> header, const std::string& reason) {
  FrameDecoder d;
  d.Append(header);
  auto next = d.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(next.status().message().find(reason), std::string::npos)
      << next.status().message();
  // The stream is dead: more bytes do not revive it.
  auto f = ShowFrame("x");
  d.Append(f);
  EXPECT_FALSE(d.Next().ok());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(ControlFraming, RefusesBadLengths) {
  const uint32_t over = kMaxControlFrameBytes + 8;
  ExpectRefused({uint8_t(over), uint8_t(over >> 8), uint8_t(over >> 16),
                 uint8_t(over >> 24)},
                "declared length 16777224");
  ExpectRefused({0xff, 0xff, 0xff, 0xff}, "declared length 4294967295");
  ExpectRefused({0, 0, 0, 0}, "declared length 0");
  ExpectRefused({12, 0, 0, 0}, "declared length 12");
}

TEST(ControlFraming, MaxLengthIsAccepted) {
  // A header announcing exactly the maximum is fine; the decoder waits.
  const uint32_t max = kMaxControlFrameBytes;
  FrameDecoder d;
  std::vector<uint8_t> h = {uint8_t(max), uint8_t(max >> 8), uint8_t(max >> 16),
                            uint8_t(max >> 24)};
  d.Append(h);
  auto next = d.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST(ControlFraming, GarbageMessageIsAReaderError) {
  // Framing accepts any 8-byte-aligned payload; the message reader then
  // refuses garbage with a kj::Exception the server maps to an error reply.
  std::vector<uint8_t> frame = {16, 0, 0, 0};
  for (int i = 0; i < 16; ++i) frame.push_back(0xEE);
  FrameDecoder d;
  d.Append(frame);
  auto next = d.Next();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_ANY_THROW({
    capnp::FlatArrayMessageReader r(kj::arrayPtr((*next)->data(), (*next)->size()),
                                    ControlReaderOptions());
    r.getRoot<wire::Request>().which();
  });
}

TEST(ControlFraming, ReaderOptionsAreBounded) {
  const auto o = ControlReaderOptions();
  EXPECT_EQ(o.traversalLimitInWords, kMaxControlFrameBytes / 8);
  EXPECT_LE(o.nestingLimit, 64);
}

// Issue 14, finding 7: a message over the limit made FrameMessage abort
// the CLI (exit 134, no message). FrameMessageWithin says why instead.
TEST(ControlFraming, OversizedMessageIsAnErrorNotAnAbort) {
  capnp::MallocMessageBuilder m;
  m.initRoot<wire::Request>().setShow(std::string(200 * 1024, 'x'));
  auto framed = FrameMessageWithin(m, 64 * 1024);
  ASSERT_FALSE(framed.ok());
  EXPECT_EQ(framed.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(framed.status().message().find("exceeds the frame limit of 65536"),
            std::string::npos)
      << framed.status().message();
  auto fits = FrameMessageWithin(m, 1 << 20);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(*fits, FrameMessage(m));
}

TEST(ControlFraming, DecoderHonoursItsOwnLimit) {
  const auto f = ShowFrame(std::string(1000, 'y'));
  FrameDecoder small(512);
  small.Append(f);
  auto next = small.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("up to 512"), std::string::npos);
  EXPECT_EQ(small.buffered(), 0u) << "a dead stream keeps no bytes";
  FrameDecoder big(4096);
  big.Append(f);
  auto ok = big.Next();
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ(ReadShow(**ok), std::string(1000, 'y'));
}

TEST(ControlFraming, HeaderParsing) {
  const uint8_t good[4] = {8, 0, 0, 0};
  EXPECT_EQ(*ParseFrameHeader(std::span<const uint8_t, 4>(good, 4), 8), 8u);
  const uint8_t zero[4] = {0, 0, 0, 0};
  EXPECT_FALSE(ParseFrameHeader(std::span<const uint8_t, 4>(zero, 4), 64).ok());
  const uint8_t odd[4] = {9, 0, 0, 0};
  EXPECT_FALSE(ParseFrameHeader(std::span<const uint8_t, 4>(odd, 4), 64).ok());
  const uint8_t over[4] = {0, 0, 1, 0};  // 65536
  EXPECT_FALSE(
      ParseFrameHeader(std::span<const uint8_t, 4>(over, 4), 65528).ok());
  EXPECT_TRUE(ParseFrameHeader(std::span<const uint8_t, 4>(over, 4), 65536).ok());
}

TEST(ControlFraming, ReaderLimitFollowsTheFrameLimit) {
  EXPECT_EQ(ControlReaderOptions(1 << 20).traversalLimitInWords,
            (1u << 20) / 8);
}

}  // namespace
}  // namespace caravan::protocol
