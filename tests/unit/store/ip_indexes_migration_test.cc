// Migration 19 (schema.cc, kMigrationIpIndexes): a version-18 store loses
// the index on (ip_family, ip_first) and its value index leaves addresses
// out, and every query answers as before; kill -9 during the migration
// leaves the store at 18 or at 19, never between.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "daemon/store/schema.h"
#include "tests/unit/store/kill_during_open.h"
#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::Count;
using testing::InsertAll;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::RawExec;
using testing::ReaderOrDie;
using testing::TempDir;

// Addresses and networks in a few /16s (so that /24 and /16 queries hit
// many), and domains.
std::vector<RecordRow> MixedRows(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<RecordRow> rows;
  std::set<std::string> seen;
  while (rows.size() < n) {
    std::string v;
    IndicatorType t;
    switch (rng() % 4) {
      case 0:
      case 1:
        t = IndicatorType::kIpv4;
        v = "10." + std::to_string(rng() % 4) + "." +
            std::to_string(rng() % 256) + "." + std::to_string(rng() % 256);
        break;
      case 2:
        t = IndicatorType::kIpv4;
        v = "10." + std::to_string(rng() % 4) + "." +
            std::to_string(rng() % 256) + ".0/24";
        break;
      default:
        t = IndicatorType::kDomain;
        v = "d" + std::to_string(rng() % 100000) + ".example";
    }
    if (!seen.insert(v).second) continue;
    rows.push_back(MakeRow(t, v));
  }
  return rows;
}

// What a set of queries answers: each query's sorted values.
std::vector<std::vector<std::string>> Answers(Store& store) {
  auto reader = ReaderOrDie(store);
  std::vector<QueryFilter> filters;
  auto add = [&filters](auto set) {
    QueryFilter f;
    f.limit = kMaxQueryLimit;
    set(f);
    filters.push_back(f);
  };
  add([](QueryFilter& f) {
    f.within = protocol::ParseIpNetwork("10.1.0.0/16");
  });
  add([](QueryFilter& f) {
    f.within = protocol::ParseIpNetwork("10.2.7.0/24");
  });
  add([](QueryFilter& f) {
    f.covering = protocol::ParseIpNetwork("10.3.9.9");
  });
  for (const char* v : {"10.0.0.1", "10.1.1.0/24", "d17.example"}) {
    add([v](QueryFilter& f) { f.value = v; });
  }
  std::vector<std::vector<std::string>> out;
  for (const QueryFilter& f : filters) {
    auto page = reader->Query(f);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> values;
    if (page.ok()) {
      for (const auto& r : page->rows) values.push_back(r.indicator.value);
    }
    std::sort(values.begin(), values.end());
    out.push_back(values);
  }
  return out;
}

void ExpectVersion19Indexes(const std::string& path) {
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 19);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema "
                  "WHERE name = 'indicators_ip_range'"),
            0);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema WHERE name = "
                  "'indicators_value' AND sql LIKE '%WHERE ip_family IS NULL'"),
            1);
  // The value index holds exactly the rows without IP columns.
  EXPECT_EQ(
      Count(path,
            "SELECT count(*) FROM indicators INDEXED BY indicators_value "
            "WHERE ip_family IS NULL"),
      Count(path, "SELECT count(*) FROM indicators WHERE ip_family IS NULL"));
}

TEST(IpIndexesMigration, AVersion18StoreAnswersEveryQueryAsATodaysOne) {
  TempDir dir;
  const auto rows = MixedRows(3000, 18);
  // The answers of the same rows stored by today's code from the start.
  const std::string fresh_path = dir.File("fresh.db");
  std::vector<std::vector<std::string>> expected;
  {
    auto fresh = OpenOrDie(fresh_path);
    InsertAll(*fresh, rows);
    expected = Answers(*fresh);
  }
  ExpectVersion19Indexes(fresh_path);
  ASSERT_FALSE(expected[0].empty());
  ASSERT_FALSE(expected[1].empty());

  const std::string path = dir.File("v18.db");
  { InsertAll(*OpenOrDie(path), rows); }
  RawExec(path, testing::kRollBackToSchema18);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 18);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema "
                  "WHERE name = 'indicators_ip_range'"),
            1);
  auto store = OpenOrDie(path);  // migrates
  ExpectVersion19Indexes(path);
  EXPECT_EQ(Answers(*store), expected);
}

TEST(IpIndexesMigration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const std::string original = dir.File("v18.db");
  const auto rows = MixedRows(20000, 19);
  { InsertAll(*OpenOrDie(original), rows); }
  std::vector<std::vector<std::string>> expected;
  {
    const std::string copy = dir.File("reference.db");
    { InsertAll(*OpenOrDie(copy), rows); }
    expected = Answers(*OpenOrDie(copy));
  }
  RawExec(original, testing::kRollBackToSchema18);
  const int killed_at_18 = testing::KillDuringOpen(
      dir, original, 6, 20261206, 18, [&](const std::string& path) {
        const int64_t version =
            Count(path, "SELECT max(version) FROM schema_version");
        EXPECT_TRUE(version == 18 || version == 19) << version;
        if (version == 18) {
          EXPECT_EQ(Count(path,
                          "SELECT count(*) FROM sqlite_schema "
                          "WHERE name = 'indicators_ip_range'"),
                    1);
        }
        auto store = OpenOrDie(path);
        ExpectVersion19Indexes(path);
        EXPECT_EQ(Count(path, "SELECT count(*) FROM indicators"),
                  static_cast<int64_t>(rows.size()));
        EXPECT_EQ(Answers(*store), expected);
      });
  RecordProperty("killed_before_commit", killed_at_18);
}

}  // namespace
}  // namespace caravan::store
