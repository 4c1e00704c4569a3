// InboundQueue (daemon/sync/inbound_queue.h): a session's checked records
// waiting for the commit loop, bounded by records and by signed bytes.

#include "daemon/sync/inbound_queue.h"

#include <gtest/gtest.h>

namespace caravan::daemon::sync {
namespace {

// A message of `records` checked records of `bytes_each` signed bytes, up
// to `up_to` (tells messages apart).
CheckedMessage MessageOf(size_t records, size_t bytes_each, uint64_t up_to) {
  CheckedMessage m;
  m.up_to_seq = up_to;
  for (size_t i = 0; i < records; ++i) {
    CheckedRecord r;
    r.signed_bytes.assign(bytes_each, 0xab);
    m.checked.push_back(std::move(r));
  }
  return m;
}

TEST(InboundQueueTest, AnEmptyQueueHasRoom) {
  InboundQueue q({10, 1000});
  EXPECT_TRUE(q.HasRoom());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.records(), 0u);
  EXPECT_EQ(q.signed_bytes(), 0u);
}

TEST(InboundQueueTest, TheRecordBoundStopsSmallRecords) {
  InboundQueue q({10, 1000});
  q.Push(MessageOf(6, 10, 1));
  EXPECT_TRUE(q.HasRoom());
  q.Push(MessageOf(4, 10, 2));
  EXPECT_EQ(q.records(), 10u);
  EXPECT_EQ(q.signed_bytes(), 100u);
  EXPECT_FALSE(q.HasRoom());
}

TEST(InboundQueueTest, TheByteBoundStopsLargeRecordsLongBeforeTheirCount) {
  InboundQueue q({10, 1000});
  q.Push(MessageOf(2, 499, 1));
  EXPECT_TRUE(q.HasRoom());  // 998 bytes
  q.Push(MessageOf(1, 2, 2));
  EXPECT_EQ(q.records(), 3u);
  EXPECT_EQ(q.signed_bytes(), 1000u);
  EXPECT_FALSE(q.HasRoom());
}

TEST(InboundQueueTest, OneMessageMayGoOverAndIsKeptWhole) {
  // Checked before it is counted: the message that crosses a bound is
  // queued whole (dropping part of it would lose records the peer thinks
  // delivered); the receive loop then waits.
  InboundQueue q({10, 1000});
  q.Push(MessageOf(25, 100, 1));
  EXPECT_EQ(q.records(), 25u);
  EXPECT_EQ(q.signed_bytes(), 2500u);
  EXPECT_FALSE(q.HasRoom());
  auto all = q.TakeAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].checked.size(), 25u);
}

TEST(InboundQueueTest, RejectionsAndEchoesCountAsRecordsButHoldNoBytes) {
  InboundQueue q({10, 1000});
  CheckedMessage m = MessageOf(1, 40, 1);
  m.rejected.resize(3);
  m.own_echoes = 2;
  q.Push(std::move(m));
  EXPECT_EQ(q.records(), 6u);
  EXPECT_EQ(q.signed_bytes(), 40u);
}

TEST(InboundQueueTest, TakeAllHandsOverInOrderAndMakesRoom) {
  InboundQueue q({4, 1000});
  q.Push(MessageOf(2, 10, 7));
  q.Push(MessageOf(2, 10, 9));
  ASSERT_FALSE(q.HasRoom());
  auto all = q.TakeAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].up_to_seq, 7u);
  EXPECT_EQ(all[1].up_to_seq, 9u);
  EXPECT_EQ(all[1].checked[1].signed_bytes.size(), 10u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.records(), 0u);
  EXPECT_EQ(q.signed_bytes(), 0u);
  EXPECT_TRUE(q.HasRoom());
  EXPECT_TRUE(q.TakeAll().empty());
}

TEST(InboundQueueTest, SignedBytesOfSumsTheCheckedRecordsOnly) {
  CheckedMessage m = MessageOf(3, 7, 1);
  m.rejected.resize(5);
  EXPECT_EQ(SignedBytesOf(m), 21u);
  EXPECT_EQ(SignedBytesOf(CheckedMessage{}), 0u);
}

}  // namespace
}  // namespace caravan::daemon::sync
