#include "daemon/sync/sealed_chain.h"

#include <gtest/gtest.h>

namespace caravan::daemon::sync {
namespace {

store::SealedChainIn At(uint64_t seq, uint8_t hash_byte) {
  store::SealedChainIn s;
  s.last_seq = seq;
  s.last_hash.fill(hash_byte);
  return s;
}

ChainLink Link(uint64_t seq, uint8_t prev_byte) {
  ChainLink l;
  l.pair_seq = seq;
  l.prev_hash.fill(prev_byte);
  return l;
}

TEST(SealedChainTest, FirstEnvelopeIsNextOnlyWithTheZeroHash) {
  const store::SealedChainIn none;  // nothing applied yet
  EXPECT_EQ(ClassifyLink(none, Link(1, 0)), ChainVerdict::kNext);
  EXPECT_EQ(ClassifyLink(none, Link(1, 5)), ChainVerdict::kBroken);
  EXPECT_EQ(ClassifyLink(none, Link(2, 0)), ChainVerdict::kGap);
}

TEST(SealedChainTest, NextDuplicateGapAndBreak) {
  const auto state = At(4, 7);
  EXPECT_EQ(ClassifyLink(state, Link(5, 7)), ChainVerdict::kNext);
  EXPECT_EQ(ClassifyLink(state, Link(4, 3)), ChainVerdict::kDuplicate);
  EXPECT_EQ(ClassifyLink(state, Link(1, 0)), ChainVerdict::kDuplicate);
  EXPECT_EQ(ClassifyLink(state, Link(6, 7)), ChainVerdict::kGap);
  EXPECT_EQ(ClassifyLink(state, Link(500, 1)), ChainVerdict::kGap);
  EXPECT_EQ(ClassifyLink(state, Link(5, 8)), ChainVerdict::kBroken);
}

TEST(SealedChainTest, FaultKindsAreTheStoreNames) {
  EXPECT_EQ(ChainFaultKind(ChainVerdict::kNext), "");
  EXPECT_EQ(ChainFaultKind(ChainVerdict::kGap), store::kChainGap);
  EXPECT_EQ(ChainFaultKind(ChainVerdict::kDuplicate), store::kChainDuplicate);
  EXPECT_EQ(ChainFaultKind(ChainVerdict::kBroken), store::kChainBroken);
}

}  // namespace
}  // namespace caravan::daemon::sync
