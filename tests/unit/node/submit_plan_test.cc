// The Submitter plans and signs before its store write (submit_plan.h) and
// stores that plan only where it still holds. The properties: a plan whose
// indicators nobody touched is stored as made; an input whose indicator
// another write changed in between is planned again in the write (merged,
// never overwritten); submissions of the same values racing on two
// threads end with every value holding both submissions, each origin
// sequence number used once.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/node/submitter.h"
#include "daemon/store/reader_pool.h"
#include "daemon/store/store.h"
#include "daemon/sync/record_signing.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {
namespace {

class SubmitPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("caravan-submit-plan-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.node.name = "CERT-UZ";
    config_.node.country = "UZ";
    auto store = store::Store::Open((dir_ / "store.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    readers_ = std::make_unique<store::ReaderPool>(*store_);
  }
  void TearDown() override {
    readers_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Submitter> NewSubmitter() {
    return std::make_unique<Submitter>(*store_, *readers_, *identity_, config_);
  }

  static SubmissionInput Input(const std::string& value,
                               const std::string& tag) {
    SubmissionInput in;
    in.value = value;
    in.tags = {tag};
    return in;
  }

  store::IndicatorRow Current(const std::string& value) {
    const auto id = protocol::ComputeIndicatorId(
        identity_->public_key(), protocol::IndicatorType::kDomain, value);
    auto row = readers_->With([&](store::Reader& r) { return r.Get(id); });
    EXPECT_TRUE(row.ok() && row->has_value()) << value;
    return row.ok() && row->has_value() ? **row : store::IndicatorRow{};
  }

  // Stores revision 1 of domain `value`, variant `variant`, tagged `tag`,
  // as a peer would relay one of our records back (signed by our key).
  void StoreRelayedVariant(const std::string& value, uint32_t variant,
                           const std::string& tag, uint64_t origin_seq) {
    store::RecordRow row;
    row.body.origin = identity_->public_key();
    row.body.origin_seq = origin_seq;
    row.body.revision = 1;
    row.body.variant = variant;
    row.body.created = 1'700'000'000;
    row.body.indicator.type = protocol::IndicatorType::kDomain;
    row.body.indicator.value = value;
    row.body.indicator.tags = {tag};
    row.body.indicator.confidence = 50;
    row.id = protocol::ComputeIndicatorId(row.body.origin,
                                          row.body.indicator.type, value);
    auto signed_bodies =
        SignBodies(*identity_, {protocol::EncodeRecordBody(row.body)});
    row.signed_bytes = protocol::EncodeSignedRecord(signed_bodies.records[0]);
    row.origin_country = "UZ";
    row.origin_name = "CERT-UZ";
    row.received_from = "CERT-KZ";
    ASSERT_TRUE(store_->Write([&](store::WriteTxn& txn) {
                        return txn.InsertRecord(row).status();
                      })
                    .get()
                    .ok());
  }

  // Every stored record verifies under our key and has an origin sequence
  // number of its own; returns how many there are.
  size_t ExpectRecordsSignedWithDistinctSeqs() {
    std::set<uint64_t> seqs;
    size_t records = 0;
    for (uint64_t after = 0;;) {
      auto log = readers_->With(
          [after](store::Reader& r) { return r.LogRange(after, 1000); });
      EXPECT_TRUE(log.ok()) << log.status().ToString();
      if (!log.ok() || log->empty()) break;
      for (const auto& rec : *log) {
        auto decoded = protocol::DecodeSignedRecord(rec.signed_bytes);
        EXPECT_TRUE(decoded.ok());
        EXPECT_TRUE(VerifySignedRecord(*decoded, identity_->public_key()));
        EXPECT_TRUE(seqs.insert(rec.origin_seq).second)
            << "origin_seq " << rec.origin_seq << " used twice";
        after = rec.seq;
        ++records;
      }
    }
    return records;
  }

  std::filesystem::path dir_;
  protocol::NodeConfig config_;
  std::unique_ptr<crypto::IdentityKey> identity_ =
      crypto::IdentityKey::Generate();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ReaderPool> readers_;
};

TEST_F(SubmitPlanTest, APlanNothingTouchedIsStoredAsMade) {
  auto submitter = NewSubmitter();
  std::vector<SubmissionInput> inputs;
  for (int i = 0; i < 30; ++i) {
    inputs.push_back(Input("quiet" + std::to_string(i) + ".example", "a"));
  }
  // The same value twice in one call: revision 1, then 2 merging the tag.
  inputs.push_back(Input("twice.example", "a"));
  inputs.push_back(Input("twice.example", "b"));
  for (const auto& out : submitter->Submit(inputs, "uid:0")) {
    ASSERT_TRUE(out.error.ok()) << out.error.ToString();
  }
  EXPECT_EQ(Current("twice.example").revision, 2u);
  for (auto& in : inputs) in.tags = {"c"};
  const auto again = submitter->Submit(inputs, "uid:0");
  EXPECT_EQ(again[0].revision, 2u);
  EXPECT_EQ(again[0].changes, std::vector<std::string>{"+tag c"});
  EXPECT_EQ(again[31].revision, 3u);
  EXPECT_TRUE(again[31].unchanged);  // the first twice.example did it
  EXPECT_EQ(submitter->plans_remade(), 0u);
  EXPECT_EQ(ExpectRecordsSignedWithDistinctSeqs(), 30u * 2 + 3);
}

TEST_F(SubmitPlanTest, AnIndicatorChangedBeforeTheWriteIsPlannedAgainInIt) {
  auto submitter = NewSubmitter();
  auto other = NewSubmitter();
  submitter->SetBeforeWriteForTesting([&] {
    // Another submission of the same value lands between the plan (which
    // saw none) and the write.
    auto out = other->Submit({Input("raced.example", "other")}, "uid:1");
    ASSERT_TRUE(out[0].error.ok());
    EXPECT_EQ(out[0].revision, 1u);
  });
  const auto out = submitter->Submit(
      {Input("raced.example", "mine"), Input("calm.example", "mine")}, "uid:0");
  ASSERT_TRUE(out[0].error.ok() && out[1].error.ok());
  EXPECT_EQ(submitter->plans_remade(), 1u);
  // Merged into the revision the other write made, not over it.
  EXPECT_EQ(out[0].revision, 2u);
  EXPECT_EQ(out[0].changes, std::vector<std::string>{"+tag mine"});
  const auto raced = Current("raced.example");
  EXPECT_EQ(raced.revision, 2u);
  EXPECT_EQ(raced.indicator.tags, (std::vector<std::string>{"mine", "other"}));
  EXPECT_EQ(out[1].revision, 1u);
  EXPECT_EQ(Current("calm.example").revision, 1u);
  EXPECT_EQ(ExpectRecordsSignedWithDistinctSeqs(), 3u);
}

// The current view changes without its revision changing: a redacted
// variant was current when the plan read it, and the full variant 0 of
// the same revision arrived before the write. The plan is made again from
// the full one (comparing revisions would have kept the plan and merged
// into the redacted body).
TEST_F(SubmitPlanTest, AnotherVariantOfTheSameRevisionMakesThePlanAgain) {
  StoreRelayedVariant("variant.example", 2, "redacted", 1);
  ASSERT_EQ(Current("variant.example").indicator.tags,
            std::vector<std::string>{"redacted"});
  auto submitter = NewSubmitter();
  submitter->SetBeforeWriteForTesting(
      [&] { StoreRelayedVariant("variant.example", 0, "full", 1); });
  const auto out =
      submitter->Submit({Input("variant.example", "mine")}, "uid:0");
  ASSERT_TRUE(out[0].error.ok()) << out[0].error.ToString();
  EXPECT_EQ(submitter->plans_remade(), 1u);
  EXPECT_EQ(out[0].revision, 2u);
  EXPECT_EQ(Current("variant.example").indicator.tags,
            (std::vector<std::string>{"full", "mine"}));
}

// The same file submitted twice at once: every input of the second goes
// stale, and a value named twice in it rests on its first naming.
TEST_F(SubmitPlanTest, AWholeRequestGoneStaleIsPlannedAgainInTheWrite) {
  constexpr int kValues = 3000;
  std::vector<SubmissionInput> inputs;
  for (int i = 0; i < kValues; ++i) {
    inputs.push_back(Input("w" + std::to_string(i) + ".example", "second"));
  }
  inputs.push_back(Input("w7.example", "again"));
  auto submitter = NewSubmitter();
  auto other = NewSubmitter();
  submitter->SetBeforeWriteForTesting([&] {
    std::vector<SubmissionInput> first = inputs;
    first.pop_back();
    for (auto& in : first) in.tags = {"first"};
    for (const auto& out : other->Submit(first, "uid:1")) {
      ASSERT_TRUE(out.error.ok());
    }
  });
  const auto out = submitter->Submit(inputs, "uid:0");
  EXPECT_EQ(submitter->plans_remade(), 1u);
  for (int i = 0; i < kValues; ++i) {
    ASSERT_TRUE(out[i].error.ok()) << i;
    EXPECT_EQ(out[i].revision, 2u) << i;
  }
  EXPECT_EQ(out[kValues].revision, 3u);
  EXPECT_EQ(Current("w7.example").indicator.tags,
            (std::vector<std::string>{"again", "first", "second"}));
  EXPECT_EQ(ExpectRecordsSignedWithDistinctSeqs(), 2u * kValues + 1);
}

TEST_F(SubmitPlanTest, RacingSubmissionsOfTheSameValuesMergeAll) {
  constexpr int kValues = 240, kPerCall = 40;
  auto run = [&](const std::string& tag, bool reverse) {
    auto submitter = NewSubmitter();
    for (int start = 0; start < kValues; start += kPerCall) {
      std::vector<SubmissionInput> inputs;
      for (int i = start; i < start + kPerCall; ++i) {
        const int v = reverse ? kValues - 1 - i : i;
        inputs.push_back(Input("v" + std::to_string(v) + ".example", tag));
      }
      for (const auto& out : submitter->Submit(inputs, "uid:0")) {
        EXPECT_TRUE(out.error.ok()) << out.error.ToString();
      }
    }
  };
  std::thread a(run, "first", false);
  std::thread b(run, "second", true);
  a.join();
  b.join();
  for (int v = 0; v < kValues; ++v) {
    const auto row = Current("v" + std::to_string(v) + ".example");
    EXPECT_EQ(row.revision, 2u) << v;
    EXPECT_EQ(row.indicator.tags, (std::vector<std::string>{"first", "second"}))
        << v;
  }
  EXPECT_EQ(ExpectRecordsSignedWithDistinctSeqs(), 2u * kValues);
}

}  // namespace
}  // namespace caravan::daemon
