#include "tools/submit_batcher.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <vector>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"
#include "tools/submission_builder.h"

namespace caravan::tools {
namespace {

protocol::BulkItem ItemWithTags(size_t tags, size_t tag_bytes = 1) {
  protocol::BulkItem item;
  item.value = "10.0.0.1";
  item.line = 7;
  for (size_t i = 0; i < tags; ++i) item.tags.push_back(std::string(tag_bytes, 't'));
  return item;
}

SubmitContext Defaults() {
  SubmitContext c;
  c.type = "ipv4";
  return c;
}

// The estimate is an upper bound of what FillSubmission really encodes:
// a batch the batcher accepts always frames within the limit.
TEST(SubmitBatcher, EstimateBoundsTheEncoding) {
  for (size_t tags : {0u, 1u, 64u, 10158u}) {
    for (size_t tag_bytes : {1u, 7u, 8u, 100u}) {
      const auto item = ItemWithTags(tags, tag_bytes);
      capnp::MallocMessageBuilder m;
      auto items = m.initRoot<protocol::wire::Request>().initSubmit().initItems(1);
      ASSERT_TRUE(FillSubmission(items[0], Defaults(), item).ok());
      const size_t real = items[0].asReader().totalSize().wordCount * 8;
      EXPECT_GE(SubmissionWireBytes(item, Defaults()), real)
          << tags << " tags of " << tag_bytes << " bytes";
    }
  }
}

// Issue 14, finding 7: 200 lines of 10,158 tags each made one request over
// 16 MiB. The batcher cuts them into requests of at most half a frame.
TEST(SubmitBatcher, CutsByBytesAsWellAsByCount) {
  const size_t frame = 16u << 20;
  SubmitBatcher batcher(frame, 5000);
  const auto item = ItemWithTags(10158);
  const size_t bytes = SubmissionWireBytes(item, Defaults());
  size_t requests = 0, in_batch = 0, biggest = 0;
  for (int line = 0; line < 200; ++line) {
    auto fit = batcher.Offer(bytes);
    if (fit == SubmitBatcher::Fit::kFull) {
      ++requests;
      biggest = std::max(biggest, in_batch);
      batcher.Clear();
      in_batch = 0;
      fit = batcher.Offer(bytes);
    }
    ASSERT_EQ(fit, SubmitBatcher::Fit::kAdded);
    ++in_batch;
  }
  ++requests;
  EXPECT_GE(requests, 2u);
  EXPECT_LE(biggest * bytes, frame / 2);

  SubmitBatcher by_count(frame, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(by_count.Offer(100), SubmitBatcher::Fit::kAdded);
  }
  EXPECT_TRUE(by_count.full());
  EXPECT_EQ(by_count.Offer(100), SubmitBatcher::Fit::kFull);
}

TEST(SubmitBatcher, AloneTooLargeIsRejectedOthersStillFit) {
  SubmitBatcher batcher(64 * 1024, 5000);
  const size_t huge =
      SubmissionWireBytes(ItemWithTags(10158), Defaults());
  EXPECT_EQ(batcher.Offer(huge), SubmitBatcher::Fit::kTooLarge);
  EXPECT_EQ(batcher.items(), 0u);
  EXPECT_EQ(batcher.Offer(1000), SubmitBatcher::Fit::kAdded);
  // One item bigger than the half-frame target still goes, alone.
  SubmitBatcher alone(64 * 1024, 5000);
  EXPECT_EQ(alone.Offer(50 * 1024), SubmitBatcher::Fit::kAdded);
  EXPECT_EQ(alone.Offer(100), SubmitBatcher::Fit::kFull);
}

// Batch sizes ramp up from the first one, doubling to the most; bytes
// still cut a batch short of its count.
TEST(SubmitBatcher, FirstBatchesRampUpToTheMost) {
  const size_t frame = 16u << 20;
  SubmitBatcher batcher(frame, 10000, 1000);
  std::vector<size_t> sizes;
  size_t in_batch = 0;
  for (int line = 0; line < 40000; ++line) {
    auto fit = batcher.Offer(100);
    if (fit == SubmitBatcher::Fit::kFull) {
      sizes.push_back(in_batch);
      batcher.Clear();
      in_batch = 0;
      fit = batcher.Offer(100);
    }
    ASSERT_EQ(fit, SubmitBatcher::Fit::kAdded);
    ++in_batch;
  }
  sizes.push_back(in_batch);
  const std::vector<size_t> want = {1000, 2000, 4000, 8000, 10000, 10000, 5000};
  EXPECT_EQ(sizes, want);

  SubmitBatcher no_ramp(frame, 3);
  EXPECT_EQ(no_ramp.limit(), 3u);
  SubmitBatcher first_above_most(frame, 3, 50);
  EXPECT_EQ(first_above_most.limit(), 3u);

  // A ramping batch is still cut by bytes.
  SubmitBatcher by_bytes(64 * 1024, 10000, 1000);
  size_t fitted = 0;
  while (by_bytes.Offer(1024) == SubmitBatcher::Fit::kAdded) ++fitted;
  EXPECT_EQ(fitted, 28u);  // (32 KiB target - 4 KiB envelope) / 1 KiB
  EXPECT_LE(fitted * 1024, 32u * 1024);
}

}  // namespace
}  // namespace caravan::tools
