// Hub queue reads for operations (daemon/store/hub_queue.cc): queue depth
// per recipient from the covering index, the hub_counters totals, and
// migration 4 on a database that already held queued envelopes.

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using testing::KeyOf;
using testing::OpenOrDie;
using testing::QueryPlan;
using testing::RawExec;
using testing::ReaderOrDie;
using testing::TempDir;

HubEnvelope Envelope(uint8_t id, uint8_t recipient, size_t bytes,
                     uint8_t sender = 0xA0) {
  HubEnvelope e;
  e.envelope_id.fill(id);
  e.sender = "CERT-" + std::to_string(sender);
  e.sender_key = KeyOf(sender);
  e.recipient_key = KeyOf(recipient);
  e.first_seq = id;
  e.up_to_seq = id;
  e.envelope.assign(bytes, id);
  return e;
}

Result<HubEnqueueOutcome> Enqueue(Store& store, const HubEnvelope& e,
                                  uint64_t max_per_sender = 100) {
  return store
      .WriteValue<HubEnqueueOutcome>(
          [&](WriteTxn& txn) { return txn.HubEnqueue(e, max_per_sender); })
      .get();
}

// What the reader says is queued for `recipient`: {envelopes, bytes}, or
// {0, 0} when the recipient is absent from the result.
std::pair<uint64_t, uint64_t> Depth(Reader& reader, uint8_t recipient) {
  auto depths = reader.HubQueueDepths();
  EXPECT_TRUE(depths.ok()) << depths.status().message();
  for (const auto& d : *depths) {
    if (d.recipient_key == KeyOf(recipient)) return {d.envelopes, d.bytes};
  }
  return {0, 0};
}

// (envelopes, bytes) of one hub_counters row; nullopt when it is absent.
using Count = std::pair<uint64_t, uint64_t>;
std::optional<Count> Counted(const std::vector<HubCount>& counts,
                             const std::string& event,
                             const std::string& reason = "") {
  for (const auto& c : counts) {
    if (c.event == event && c.reason == reason) {
      return Count{c.envelopes, c.bytes};
    }
  }
  return std::nullopt;
}

TEST(HubQueueDepth, CountsEnvelopesAndBytesPerRecipient) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("hub.db"));
  auto reader = ReaderOrDie(*store);
  // A node that never was a hub: nothing queued, no counters.
  auto empty = reader->HubQueueDepths();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto no_counts = reader->HubCounters();
  ASSERT_TRUE(no_counts.ok());
  EXPECT_TRUE(no_counts->empty());

  ASSERT_TRUE(Enqueue(*store, Envelope(1, 0xC1, 100)).ok());
  ASSERT_TRUE(Enqueue(*store, Envelope(2, 0xC1, 250)).ok());
  ASSERT_TRUE(Enqueue(*store, Envelope(3, 0xC2, 7)).ok());
  EXPECT_EQ(Depth(*reader, 0xC1), (std::pair<uint64_t, uint64_t>{2, 350}));
  EXPECT_EQ(Depth(*reader, 0xC2), (std::pair<uint64_t, uint64_t>{1, 7}));
  EXPECT_EQ(reader->HubQueueDepths()->size(), 2u);

  // A resend of a queued envelope changes neither depth nor counters.
  auto dup = Enqueue(*store, Envelope(1, 0xC1, 100));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->kind, HubEnqueueOutcome::kDuplicate);
  EXPECT_EQ(Depth(*reader, 0xC1), (std::pair<uint64_t, uint64_t>{2, 350}));

  // C1 acknowledged its first envelope: 1 left; C2's queue is untouched.
  auto pending = reader->HubPending(KeyOf(0xC1), 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  const uint64_t first = (*pending)[0].hub_seq;
  auto removed = store
                     ->WriteValue<std::vector<HubEnvelope>>([&](WriteTxn& t) {
                       return t.HubRemoveDelivered(KeyOf(0xC1), first);
                     })
                     .get();
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ(Depth(*reader, 0xC1), (std::pair<uint64_t, uint64_t>{1, 250}));
  EXPECT_EQ(Depth(*reader, 0xC2), (std::pair<uint64_t, uint64_t>{1, 7}));

  auto counts = reader->HubCounters();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(Counted(*counts, "stored"), (Count{3, 357}));
  EXPECT_EQ(Counted(*counts, "forwarded"), (Count{1, 100}));

  // Everything delivered: the recipient disappears from the depths.
  ASSERT_TRUE(store
                  ->WriteValue<std::vector<HubEnvelope>>([&](WriteTxn& t) {
                    return t.HubRemoveDelivered(KeyOf(0xC1), UINT64_MAX);
                  })
                  .get()
                  .ok());
  EXPECT_EQ(Depth(*reader, 0xC1), (std::pair<uint64_t, uint64_t>{0, 0}));
  EXPECT_EQ(reader->HubQueueDepths()->size(), 1u);
  // An acknowledgement covering nothing counts nothing.
  ASSERT_TRUE(store
                  ->WriteValue<std::vector<HubEnvelope>>([&](WriteTxn& t) {
                    return t.HubRemoveDelivered(KeyOf(0xC1), UINT64_MAX);
                  })
                  .get()
                  .ok());
  counts = reader->HubCounters();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(Counted(*counts, "forwarded"), (Count{2, 350}));
}

TEST(HubQueueDepth, RefusalsAreCountedByReasonAndOnlyKnownReasons) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("hub.db"));
  for (auto [reason, bytes] :
       std::vector<std::pair<std::string_view, uint64_t>>{
           {kHubRefusedQueueFull, 10},
           {kHubRefusedQueueFull, 5},
           {kHubRefusedNotHub, 1}}) {
    Status s = store->Write([&](WriteTxn& t) {
                       return t.HubCountRefused(reason, bytes);
                     }).get();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  Status bad = store->Write([](WriteTxn& t) {
                      return t.HubCountRefused("because", 1);
                    }).get();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidInput);
  EXPECT_NE(bad.message().find("'because'"), std::string::npos);
  // A queue-full refusal by HubEnqueue itself changes nothing.
  ASSERT_TRUE(Enqueue(*store, Envelope(1, 0xC1, 3), 1).ok());
  auto full = Enqueue(*store, Envelope(2, 0xC1, 3), 1);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->kind, HubEnqueueOutcome::kQueueFull);

  auto reader = ReaderOrDie(*store);
  auto counts = reader->HubCounters();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(Counted(*counts, "refused", "queue_full"), (Count{2, 15}));
  EXPECT_EQ(Counted(*counts, "refused", "not_hub"), (Count{1, 1}));
  EXPECT_EQ(Counted(*counts, "refused", "unknown_recipient"), std::nullopt);
  EXPECT_EQ(Counted(*counts, "refused", "because"), std::nullopt);
  EXPECT_EQ(Counted(*counts, "stored"), (Count{1, 3}));
  EXPECT_EQ(Depth(*reader, 0xC1), (std::pair<uint64_t, uint64_t>{1, 3}));
}

TEST(HubQueueDepth, DepthIsReadFromTheIndexAlone) {
  TempDir dir;
  const std::string path = dir.File("hub.db");
  { auto store = OpenOrDie(path); }
  const std::string plan = QueryPlan(
      path,
      "SELECT recipient_key, count(*), sum(envelope_bytes) FROM hub_queue "
      "INDEXED BY hub_queue_recipient_depth GROUP BY recipient_key");
  EXPECT_NE(plan.find("USING COVERING INDEX hub_queue_recipient_depth"),
            std::string::npos)
      << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  // The recipient's queue in order still uses the index (no sort).
  const std::string pending = QueryPlan(
      path,
      "SELECT hub_seq, envelope FROM hub_queue WHERE recipient_key = x'00' "
      "AND hub_seq > 0 ORDER BY hub_seq LIMIT 8");
  EXPECT_NE(pending.find("hub_queue_recipient_depth"), std::string::npos)
      << pending;
  EXPECT_EQ(pending.find("TEMP B-TREE"), std::string::npos) << pending;
}

// Regression for the upgrade path: a hub whose queue was not empty when it
// was upgraded to schema 4 reports those envelopes' sizes, not 0.
TEST(HubQueueDepth, Migration4FillsInTheSizesOfQueuedEnvelopes) {
  TempDir dir;
  const std::string path = dir.File("hub.db");
  { auto store = OpenOrDie(path); }
  // Put the file back to schema 3 with one envelope queued the old way.
  RawExec(path, caravan::store::testing::kRollBackToSchema6);
  RawExec(path,
          "DROP TABLE unacked_pages;"
          "DELETE FROM schema_version WHERE version = 6;"
          "ALTER TABLE records DROP COLUMN superseded;"
          "DELETE FROM schema_version WHERE version = 5;"
          "DROP INDEX hub_queue_recipient_depth;"
          "ALTER TABLE hub_queue DROP COLUMN envelope_bytes;"
          "CREATE INDEX hub_queue_recipient ON hub_queue "
          "(recipient_key, hub_seq);"
          "DROP TABLE hub_counters;"
          "DELETE FROM schema_version WHERE version = 4;"
          "INSERT INTO hub_queue (envelope_id, sender, sender_key, "
          "recipient_key, first_seq, up_to_seq, envelope, stored_at) VALUES "
          "(zeroblob(16), 'CERT-A', zeroblob(32), x'" +
              std::string(64, 'c') + "', 1, 1, zeroblob(5000), 0);");
  auto store = OpenOrDie(path);
  auto reader = ReaderOrDie(*store);
  EXPECT_EQ(Depth(*reader, 0xCC), (std::pair<uint64_t, uint64_t>{1, 5000}));
  // And the new columns work for what comes after.
  ASSERT_TRUE(Enqueue(*store, Envelope(9, 0xCC, 20)).ok());
  EXPECT_EQ(Depth(*reader, 0xCC), (std::pair<uint64_t, uint64_t>{2, 5020}));
}

}  // namespace
}  // namespace caravan::store
