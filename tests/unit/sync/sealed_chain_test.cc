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

SealedRestartInfo Restart(uint64_t next, uint64_t lost_from) {
  SealedRestartInfo r;
  r.next_seq = next;
  r.lost_from = lost_from;
  r.prev_hash.fill(9);
  r.reason = "outbox row gone";
  return r;
}

TEST(SealedChainTest, RestartSkipsOnlyAheadOfWhatWasApplied) {
  const auto state = At(4, 7);  // applied 1..4, expecting 5
  // The sender lost 5 and 6: it goes on at 7; 5..6 never come.
  EXPECT_EQ(ClassifyRestart(state, Restart(7, 5)), RestartVerdict::kSkip);
  EXPECT_EQ(LostRange(state, Restart(7, 5)),
            (std::pair<uint64_t, uint64_t>{5, 6}));
  // Its own lost_from does not widen what we skip: we lose only what we
  // did not apply.
  EXPECT_EQ(LostRange(state, Restart(7, 2)),
            (std::pair<uint64_t, uint64_t>{5, 6}));
  // Replayed: we are at its point already (applied it, or it skips
  // nothing).
  EXPECT_EQ(ClassifyRestart(state, Restart(5, 3)), RestartVerdict::kReplayed);
  // Backwards: it names a batch we applied.
  EXPECT_EQ(ClassifyRestart(state, Restart(4, 2)), RestartVerdict::kBackwards);
  EXPECT_EQ(ClassifyRestart(state, Restart(2, 1)), RestartVerdict::kBackwards);
  // Before anything was applied, a restart to 3 loses 1 and 2.
  const store::SealedChainIn none;
  EXPECT_EQ(ClassifyRestart(none, Restart(3, 1)), RestartVerdict::kSkip);
  EXPECT_EQ(LostRange(none, Restart(3, 1)),
            (std::pair<uint64_t, uint64_t>{1, 2}));
}

}  // namespace
}  // namespace caravan::daemon::sync
