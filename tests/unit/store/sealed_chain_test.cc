// The store side of hub accountability (daemon/store/sealed_chain.cc): the
// sender's outbox and chain head, and the recipient's chain with its
// fault counters.
#include <gtest/gtest.h>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::TempDir;

PublicKey Key(uint8_t b) {
  PublicKey k{};
  k.fill(b);
  return k;
}

SealedOutboxEntry Row(uint8_t recipient, uint64_t pair_seq, uint64_t up_to) {
  SealedOutboxEntry e;
  e.recipient_key = Key(recipient);
  e.pair_seq = pair_seq;
  e.up_to_seq = up_to;
  e.envelope = std::vector<uint8_t>(100, static_cast<uint8_t>(pair_seq));
  e.sent = "{\"rules\":[],\"sent\":[]}";
  return e;
}

TEST(SealedOutbox, KeepsBatchesUntilTheReceiptAndTracksTheChainHead) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ChainDigest h1{}, h2{};
  h1.fill(1);
  h2.fill(2);
  ASSERT_TRUE(store->Write([&](WriteTxn& t) {
    CARAVAN_RETURN_IF_ERROR(t.SealedOutboxPut(Row(0xC, 1, 10), h1));
    CARAVAN_RETURN_IF_ERROR(t.SealedOutboxPut(Row(0xC, 2, 20), h2));
    return t.SealedOutboxQueued(Key(0xC), 1);
  }).get().ok());
  auto reader = ReaderOrDie(*store);
  auto head = reader->SealedChainOutGet(Key(0xC));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->last_seq, 2u);
  EXPECT_EQ(head->last_hash, h2);
  auto rows = reader->SealedOutbox(Key(0xC));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE((*rows)[0].queued_at_hub);
  EXPECT_FALSE((*rows)[1].queued_at_hub);
  EXPECT_EQ((*rows)[1].up_to_seq, 20u);
  auto counts = reader->SealedOutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].awaiting_receipt, 2u);
  EXPECT_EQ((*counts)[0].queued_at_hub, 1u);
  // The receipt through 1 takes batch 1 out, with its SentRecord list.
  auto taken = store->WriteValue<std::vector<SealedOutboxEntry>>(
      [&](WriteTxn& t) { return t.SealedOutboxReceipted(Key(0xC), 1); }).get();
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].pair_seq, 1u);
  EXPECT_EQ((*taken)[0].sent, Row(0xC, 1, 10).sent);
  EXPECT_EQ(reader->SealedOutbox(Key(0xC))->size(), 1u);
  EXPECT_EQ(reader->SealedChainOutGet(Key(0xC))->receipted_seq, 1u);
  // Another recipient has its own chain; an unknown one reads as empty.
  EXPECT_EQ(reader->SealedChainOutGet(Key(0xD))->last_seq, 0u);
  // Refused: pair seq 0, an empty envelope, a pair seq used twice.
  for (auto bad : {Row(0xC, 0, 1), Row(0xC, 2, 1)}) {
    EXPECT_FALSE(store->Write([&](WriteTxn& t) {
      return t.SealedOutboxPut(bad, h1);
    }).get().ok());
  }
  auto empty = Row(0xC, 5, 1);
  empty.envelope.clear();
  EXPECT_FALSE(store->Write([&](WriteTxn& t) {
    return t.SealedOutboxPut(empty, h1);
  }).get().ok());
}

TEST(SealedOutbox, ResealReplacesTheEnvelopeAndMovesTheHeadHash) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ChainDigest h1{}, h2{}, h1b{}, h2b{};
  h1.fill(1);
  h2.fill(2);
  h1b.fill(0x1b);
  h2b.fill(0x2b);
  auto one = Row(0xC, 1, 10);
  one.reseal = std::vector<uint8_t>(40, 0xAA);
  ASSERT_TRUE(store->Write([&](WriteTxn& t) {
    CARAVAN_RETURN_IF_ERROR(t.SealedOutboxPut(one, h1));
    CARAVAN_RETURN_IF_ERROR(t.SealedOutboxPut(Row(0xC, 2, 20), h2));
    CARAVAN_RETURN_IF_ERROR(t.SealedOutboxQueued(Key(0xC), 1));
    return t.SealedOutboxQueued(Key(0xC), 2);
  }).get().ok());
  auto reader = ReaderOrDie(*store);
  auto rows = reader->SealedOutbox(Key(0xC));
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].reseal, one.reseal);
  EXPECT_TRUE((*rows)[1].reseal.empty());  // NULL reads as empty
  // Batch 1 sealed again: not the head, so the head keeps h2.
  const std::vector<uint8_t> env1(120, 0x51), data1(48, 0x61);
  ASSERT_TRUE(store->Write([&](WriteTxn& t) {
    return t.SealedOutboxResealed(Key(0xC), 1, env1, data1, h1b);
  }).get().ok());
  EXPECT_EQ(reader->SealedChainOutGet(Key(0xC))->last_hash, h2);
  // Batch 2 (the head) sealed again: the head takes its new hash.
  const std::vector<uint8_t> env2(130, 0x52), data2(50, 0x62);
  ASSERT_TRUE(store->Write([&](WriteTxn& t) {
    return t.SealedOutboxResealed(Key(0xC), 2, env2, data2, h2b);
  }).get().ok());
  EXPECT_EQ(reader->SealedChainOutGet(Key(0xC))->last_hash, h2b);
  rows = reader->SealedOutbox(Key(0xC));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].envelope, env1);
  EXPECT_EQ((*rows)[0].reseal, data1);
  EXPECT_FALSE((*rows)[0].queued_at_hub);  // the hub holds the old bytes
  EXPECT_EQ((*rows)[1].envelope, env2);
  EXPECT_EQ((*rows)[1].reseal, data2);
  EXPECT_FALSE(store->Write([&](WriteTxn& t) {
    return t.SealedOutboxResealed(Key(0xC), 1, {}, data1, h1b);
  }).get().ok());
}

TEST(SealedChainIn, AdvancesAndCountsFaultsByKind) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ChainDigest h{};
  h.fill(7);
  ASSERT_TRUE(store->Write([&](WriteTxn& t) {
    CARAVAN_RETURN_IF_ERROR(t.SealedChainInFault(Key(0xA), kChainGap));
    CARAVAN_RETURN_IF_ERROR(t.SealedChainInAdvance(Key(0xA), 3, h));
    CARAVAN_RETURN_IF_ERROR(t.SealedChainInFault(Key(0xA), kChainGap));
    CARAVAN_RETURN_IF_ERROR(t.SealedChainInFault(Key(0xA), kChainRefused));
    return t.SealedChainInFault(Key(0xA), kChainDuplicate);
  }).get().ok());
  EXPECT_FALSE(store->Write([&](WriteTxn& t) {
    return t.SealedChainInFault(Key(0xA), "mystery");
  }).get().ok());
  auto reader = ReaderOrDie(*store);
  auto chains = reader->SealedChainsIn();
  ASSERT_TRUE(chains.ok());
  ASSERT_EQ(chains->size(), 1u);
  const auto& c = chains->front();
  EXPECT_EQ(c.last_seq, 3u);
  EXPECT_EQ(c.last_hash, h);
  EXPECT_EQ(c.gaps, 2u);
  EXPECT_EQ(c.refused, 1u);
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.broken, 0u);
  EXPECT_GT(c.last_fault_at, 0);
  auto fresh = store->WriteValue<SealedChainIn>(
      [&](WriteTxn& t) { return t.SealedChainInGet(Key(0xB)); }).get();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->last_seq, 0u);
  EXPECT_EQ(fresh->last_hash, ChainDigest{});
}

}  // namespace
}  // namespace caravan::store
