// The leveled key tables (daemon/store/index_levels.h) against an
// independent model: random new indicators (domains, URLs, hashes, IPv4
// and IPv6 addresses and networks, one value from several origins), new
// revisions and deletes, with level 0 merged every few rows, and after each
// write every look-up the store serves by id, id prefix, value and
// address compared with what the model says is held. Plus the shape
// invariant: each row's keys sit at exactly one level.

#include "daemon/store/index_levels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/ip_network.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using protocol::IpNetwork;
using protocol::ParseIpNetwork;
using testing::Count;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::TempDir;

struct Candidate {
  IndicatorType type;
  std::string value;
};

// A small pool, so values repeat across origins and networks nest.
std::vector<Candidate> Pool() {
  std::vector<Candidate> pool;
  for (int i = 0; i < 12; ++i) {
    const std::string n = std::to_string(i);
    pool.push_back({IndicatorType::kDomain, "d" + n + ".example"});
    pool.push_back({IndicatorType::kUrl, "http://u" + n + ".example/p"});
    pool.push_back(
        {IndicatorType::kSha256, std::string(63, 'a') + "0123456789ab"[i]});
    pool.push_back({IndicatorType::kIpv4, "10.0." + n + ".7"});
    pool.push_back({IndicatorType::kIpv4, "10.0." + n + ".0/24"});
    pool.push_back({IndicatorType::kIpv6, "2001:db8::" + n});
    pool.push_back({IndicatorType::kIpv6, "2001:db8:" + n + "::/48"});
  }
  pool.push_back({IndicatorType::kIpv4, "10.0.0.0/16"});
  pool.push_back({IndicatorType::kIpv4, "10.0.0.0/8"});
  pool.push_back({IndicatorType::kIpv6, "2001:db8::/32"});
  return pool;
}

struct Held {
  IndicatorType type;
  std::string value;
  uint32_t revision;
};

bool Inside(const IpNetwork& n, const IpNetwork& outer) {
  return n.is_v6 == outer.is_v6 && n.prefix >= outer.prefix &&
         n.First() >= outer.First() && n.First() <= outer.Last();
}

class IndexLevelsModel : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.level0_merge_rows = 5;   // a merge every few writes
    options_.level1_merge_rows = 12;  // into level 2 every few merges
    Reopen();
  }

  // Closes the store (if open) and opens it again with options_: the
  // writer's id filter is then filled from the file.
  void Reopen() {
    reader_.reset();
    store_.reset();
    store_ = OpenOrDie(dir_.File("levels.db"), options_);
    reader_ = ReaderOrDie(*store_);
  }

  // `rounds` random writes, each checked against the model; the store
  // reopened after every `reopen_every` of them (0: never). With
  // `expect_merged`, level 2 must hold keys at the end.
  void RunModel(uint32_t seed, int rounds, int reopen_every,
                bool expect_merged = true);

  std::set<IndicatorId> Ids(const QueryFilter& base) {
    QueryFilter f = base;
    f.include_revoked = true;
    f.quarantine = QuarantineFilter::kInclude;
    f.limit = kMaxQueryLimit;
    Result<QueryPage> page = reader_->Query(f);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::set<IndicatorId> out;
    if (!page.ok()) return out;
    EXPECT_EQ(page->next_after, 0u);  // the pool fits one page
    for (const IndicatorRow& r : page->rows) out.insert(r.id);
    return out;
  }

  std::set<IndicatorId> Expected(
      const std::function<bool(const Held&)>& keep) const {
    std::set<IndicatorId> out;
    for (const auto& [id, h] : held_) {
      if (keep(h)) out.insert(id);
    }
    return out;
  }

  void CheckAgainstModel(const std::vector<Candidate>& pool) {
    // Every id ever used: held exactly when the model says, with its value.
    for (const IndicatorId& id : used_) {
      Result<std::optional<IndicatorRow>> got = reader_->Get(id);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      auto it = held_.find(id);
      ASSERT_EQ(got->has_value(), it != held_.end());
      if (!got->has_value()) continue;
      EXPECT_EQ((*got)->indicator.value, it->second.value);
      EXPECT_EQ((*got)->revision, it->second.revision);
      Result<std::vector<IndicatorId>> by_prefix = reader_->IdsWithPrefix(
          std::span<const uint8_t>(id.data(), 3), kMaxQueryLimit);
      ASSERT_TRUE(by_prefix.ok());
      EXPECT_NE(std::find(by_prefix->begin(), by_prefix->end(), id),
                by_prefix->end());
    }
    for (const Candidate& c : pool) {
      QueryFilter f;
      f.value = c.value;
      EXPECT_EQ(Ids(f),
                Expected([&](const Held& h) { return h.value == c.value; }))
          << "value " << c.value;
      const std::optional<IpNetwork> net = ParseIpNetwork(c.value);
      if (!net) continue;
      QueryFilter within;
      within.within = *net;
      EXPECT_EQ(Ids(within), Expected([&](const Held& h) {
                  auto n = ParseIpNetwork(h.value);
                  return h.type != IndicatorType::kDomain && n &&
                         Inside(*n, *net);
                }))
          << "within " << c.value;
      QueryFilter covering;
      covering.covering = *net;
      EXPECT_EQ(Ids(covering), Expected([&](const Held& h) {
                  auto n = ParseIpNetwork(h.value);
                  return n && Inside(*net, *n);
                }))
          << "covering " << c.value;
    }
    // Each row has one id key and one value-or-address key, at one level.
    testing::ExpectEveryRowKeyedOnce(dir_.File("levels.db"),
                                     static_cast<int64_t>(held_.size()));
  }

  TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Reader> reader_;
  std::map<IndicatorId, Held> held_;
  std::set<IndicatorId> used_;
};

void IndexLevelsModel::RunModel(uint32_t seed, int rounds, int reopen_every,
                                bool expect_merged) {
  const std::vector<Candidate> pool = Pool();
  std::mt19937 rng(seed);
  for (int round = 0; round < rounds; ++round) {
    if (reopen_every > 0 && round > 0 && round % reopen_every == 0) Reopen();
    // One write: a few inserts (new ids or new revisions) and deletes, run
    // in this order, so an id can be deleted and stored anew in one write.
    std::vector<std::optional<RecordRow>> inserts;  // nullopt: a delete
    std::vector<IndicatorId> deletes;
    std::map<IndicatorId, Held> next = held_;
    const int ops = 1 + static_cast<int>(rng() % 6);
    for (int op = 0; op < ops; ++op) {
      if (!next.empty() && rng() % 4 == 0) {
        auto it = next.begin();
        std::advance(it, rng() % next.size());
        deletes.push_back(it->first);
        inserts.push_back(std::nullopt);
        next.erase(it);
        continue;
      }
      const Candidate& c = pool[rng() % pool.size()];
      const uint8_t origin = static_cast<uint8_t>(1 + rng() % 3);
      RecordRow row = MakeRow(c.type, c.value, 1, origin);
      auto it = next.find(row.id);
      const uint32_t revision = it == next.end() ? 1 : it->second.revision + 1;
      row = MakeRow(c.type, c.value, revision, origin);
      next[row.id] = Held{c.type, c.value, revision};
      used_.insert(row.id);
      inserts.push_back(row);
    }
    const Status s =
        store_
            ->Write([&](WriteTxn& txn) -> Status {
              size_t deleted = 0;
              for (const std::optional<RecordRow>& r : inserts) {
                if (r) {
                  CARAVAN_RETURN_IF_ERROR(txn.InsertRecord(*r).status());
                } else {
                  CARAVAN_RETURN_IF_ERROR(
                      txn.DeleteIndicator(deletes[deleted++]).status());
                }
              }
              return Status::Ok();
            })
            .get();
    ASSERT_TRUE(s.ok()) << s.ToString();
    held_ = std::move(next);
    CheckAgainstModel(pool);
    if (HasFailure()) {
      ADD_FAILURE() << "round " << round;
      return;
    }
  }
  // Merges happened, at both steps: level 2 holds keys.
  if (expect_merged) {
    EXPECT_GT(Count(dir_.File("levels.db"), "SELECT count(*) FROM id_keys_2"), 0);
  }
}

int ModelRounds() {
  return static_cast<int>(
      testing::SeedFromEnv("CARAVAN_INDEX_LEVELS_ROUNDS", 60));
}

TEST_F(IndexLevelsModel,
       LookupsMatchTheModelThroughInsertsRevisionsDeletesAndMerges) {
  RunModel(testing::SeedFromEnv("CARAVAN_INDEX_LEVELS_SEED", 21), ModelRounds(),
           0);
}

// The same with the writer's id filter (id_key_filter.h) filled from the
// file at each reopen, at the default size, at one block (nearly every
// id "may be held": the searches decide) and off. A key the filter
// missed would store a held id twice, which the model sees as a
// duplicate row.
class IndexLevelsFilterModel : public IndexLevelsModel,
                               public ::testing::WithParamInterface<size_t> {
 protected:
  void SetUp() override {
    options_.id_filter_bytes = GetParam();
    IndexLevelsModel::SetUp();
  }
};

TEST_P(IndexLevelsFilterModel, ReopenedStoresStillFindEveryHeldId) {
  RunModel(testing::SeedFromEnv("CARAVAN_INDEX_LEVELS_SEED", 22), ModelRounds(),
           7);
}

INSTANTIATE_TEST_SUITE_P(FilterBytes, IndexLevelsFilterModel,
                         ::testing::Values(StoreOptions{}.id_filter_bytes,
                                           size_t{32}, size_t{0}));

// A merge that fails halfway is undone whole (Store::MergeKeyLevel runs it
// in one transaction). The fault is injected where it hurts most: an
// address key copied to level 1 and not yet deleted from level 0, after
// the id and value keys have moved (MergeLevel moves the address keys
// last), as disk full or an I/O error there would. While merges keep
// failing, writes go on, every look-up finds every row and each row's
// keys stay at one level (CheckAgainstModel after each write); once the
// fault is gone, the merge is tried again after the next commit that adds
// rows and level 0 empties into the levels below.
TEST_F(IndexLevelsModel, AMergeThatFailsHalfwayIsUndoneWholeAndTriedAgain) {
  const std::string path = dir_.File("levels.db");
  // Fires only mid-merge: an ordinary delete of an indicator finds its
  // address key at one level, never at two.
  testing::RawExec(path,
                   "PRAGMA busy_timeout = 5000;"
                   "CREATE TRIGGER fail_merge BEFORE DELETE ON ip_keys_0 "
                   "WHEN EXISTS (SELECT 1 FROM ip_keys_1 WHERE rid = OLD.rid) "
                   "BEGIN SELECT RAISE(ABORT, 'injected merge failure'); END;");
  const uint32_t seed = testing::SeedFromEnv("CARAVAN_INDEX_LEVELS_SEED", 23);
  RunModel(seed, 40, 0, /*expect_merged=*/false);
  if (HasFailure()) return;
  // Merges were due and failed: level 0 grew past its bound.
  EXPECT_GE(Count(path, "SELECT count(*) FROM id_keys_0"),
            options_.level0_merge_rows);
  EXPECT_GT(Count(path, "SELECT count(*) FROM ip_keys_0"), 0);
  testing::RawExec(path, "PRAGMA busy_timeout = 5000; DROP TRIGGER fail_merge;");
  RunModel(seed + 1, 20, 0);
  EXPECT_LT(Count(path, "SELECT count(*) FROM id_keys_0"),
            options_.level0_merge_rows);
}

// A second insert of a held id through InsertIfStillNew finds it held (no
// unique index stops it any more) and leaves nothing behind.
TEST_F(IndexLevelsModel, InsertIfStillNewFindsAnIdHeldAtEitherLevel) {
  const RecordRow first = MakeRow(IndicatorType::kDomain, "held.example");
  ASSERT_TRUE(testing::Insert(*store_, first).ok());
  for (int i = 0; i < 4; ++i) {  // the fifth row: a merge to level 1
    ASSERT_TRUE(testing::Insert(*store_, MakeRow(IndicatorType::kDomain,
                                                 "f" + std::to_string(i)))
                    .ok());
  }
  // The merge runs after the commit that made it due; a write queued
  // after that commit runs after the merge.
  ASSERT_TRUE(store_->Write([](WriteTxn&) { return Status::Ok(); }).get().ok());
  const std::string path = dir_.File("levels.db");
  ASSERT_EQ(Count(path, "SELECT count(*) FROM id_keys_0"), 0);
  RecordRow again = first;
  again.received_from = "KZ-CERT";
  Result<std::optional<InsertOutcome>> out =
      store_
          ->WriteValue<std::optional<InsertOutcome>>(
              [&](WriteTxn& txn) { return txn.InsertIfStillNew(again); })
          .get();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(out->has_value());
  EXPECT_EQ(Count(path, "SELECT count(*) FROM indicators"), 5);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM records"), 5);
}

// Level 0 is merged once it holds level0_merge_rows and level 1 once it
// holds level1_merge_rows, and no sooner: after every write (one row
// each) both stay below their bound, every row is keyed at one level, and
// all three levels are used. The store is reopened midway, so the counts
// it starts from must be read from the file.
TEST_F(IndexLevelsModel, EachLevelStaysBelowItsMergeBoundAcrossReopens) {
  const std::string path = dir_.File("levels.db");
  const auto keys_at = [&](const char* level) {
    return Count(path, std::string("SELECT count(*) FROM id_keys") + level);
  };
  bool level1_used = false;
  bool level2_used = false;
  for (int i = 0; i < 60; ++i) {
    if (i == 23) Reopen();
    ASSERT_TRUE(testing::Insert(*store_,
                                MakeRow(IndicatorType::kDomain,
                                        "b" + std::to_string(i) + ".example"))
                    .ok());
    // The merges run after that commit; a write queued after it runs
    // after them.
    ASSERT_TRUE(
        store_->Write([](WriteTxn&) { return Status::Ok(); }).get().ok());
    const int64_t l0 = keys_at("_0");
    const int64_t l1 = keys_at("_1");
    const int64_t l2 = keys_at("_2");
    EXPECT_LT(l0, options_.level0_merge_rows) << "after row " << i;
    EXPECT_LT(l1, options_.level1_merge_rows) << "after row " << i;
    EXPECT_EQ(l0 + l1 + l2, i + 1);
    level1_used = level1_used || l1 > 0;
    level2_used = level2_used || l2 > 0;
  }
  EXPECT_TRUE(level1_used);
  EXPECT_TRUE(level2_used);
}

TEST(IndexLevelsOptions, AMergeBoundBelowOneIsRefused) {
  TempDir dir;
  for (int64_t rows : {int64_t{0}, int64_t{-1}}) {
    for (bool level1 : {false, true}) {
      StoreOptions options;
      (level1 ? options.level1_merge_rows : options.level0_merge_rows) = rows;
      auto store = Store::Open(dir.File("bad.db"), options);
      ASSERT_FALSE(store.ok());
      EXPECT_EQ(store.status().code(), StatusCode::kInvalidInput);
      EXPECT_NE(store.status().message().find(level1 ? "level1_merge_rows"
                                                     : "level0_merge_rows"),
                std::string::npos);
    }
  }
}

// Every statement that finds a row by id searches the key tables and
// never scans the indicators table.
TEST_F(IndexLevelsModel, IdLookupsSearchEveryLevel) {
  ASSERT_TRUE(
      testing::Insert(*store_, MakeRow(IndicatorType::kDomain, "a.example"))
          .ok());
  const std::string plan = testing::QueryPlan(
      dir_.File("levels.db"),
      "SELECT value FROM indicators i JOIN records r ON r.rid = i.rid WHERE " +
          internal::IdIs("i.", "?1"));
  EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
  for (const char* level : {"id_keys_0", "id_keys_1", "id_keys_2"}) {
    EXPECT_NE(plan.find(level), std::string::npos) << plan;
  }
}

}  // namespace
}  // namespace caravan::store
