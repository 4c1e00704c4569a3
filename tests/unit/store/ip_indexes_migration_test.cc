// Migrations 19 (schema.cc, kMigrationIpIndexes: the index on (ip_family,
// ip_first) dropped, the value index without addresses), 21
// (index_levels_migration.cc: ids, values and addresses found through the
// leveled key tables, no index on the indicators table for them) and 22
// (schema.cc, kMigrationKeyLevel2: a middle key level): a store
// of the version before each is migrated to today's shape, and queries
// and look-ups by id answer as an independent model of the rows says;
// kill -9 during a migration leaves the store at the version before or
// at today's, never between.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <set>

#include "daemon/store/index_levels.h"
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

// A query and what an independent model of `rows` says it returns.
struct Probe {
  QueryFilter filter;
  std::vector<std::string> expected;  // sorted values
};

// IPv4 rows as (address, prefix) integers, for the model.
struct V4 {
  uint32_t address;
  int prefix;
  std::string value;
};

uint32_t Mask(int prefix) { return prefix == 0 ? 0u : ~0u << (32 - prefix); }

V4 V4Of(const std::string& value) {
  auto net = protocol::ParseIpNetwork(value);
  EXPECT_TRUE(net.has_value()) << value;
  const auto& b = net->bytes;
  return {uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 |
              uint32_t{b[3]},
          net->prefix, value};
}

// Probes drawn from `rows` (so that they hit): networks inside a /16 and a
// held /24, the networks holding a held address, exact values of each
// kind, and one value not held.
std::vector<Probe> ProbesOf(const std::vector<RecordRow>& rows) {
  std::vector<V4> v4;
  const std::string* address = nullptr;
  const std::string* network = nullptr;
  const std::string* domain = nullptr;
  for (const RecordRow& r : rows) {
    const std::string& v = r.body.indicator.value;
    if (r.body.indicator.type == IndicatorType::kDomain) {
      if (domain == nullptr) domain = &v;
      continue;
    }
    v4.push_back(V4Of(v));
    if (v4.back().prefix == 24 && network == nullptr) network = &v;
  }
  // An address inside a held /24, so that it is held by more than itself.
  std::set<uint32_t> held24;
  for (const V4& n : v4) {
    if (n.prefix == 24) held24.insert(n.address);
  }
  for (const V4& n : v4) {
    if (n.prefix == 32 && held24.count(n.address & Mask(24))) {
      address = &n.value;
      break;
    }
  }
  EXPECT_TRUE(address && network && domain);
  if (!(address && network && domain)) return {};
  std::vector<Probe> probes;
  auto within = [&](const std::string& text) {
    Probe p;
    p.filter.within = protocol::ParseIpNetwork(text);
    const V4 w = V4Of(text);
    for (const V4& n : v4) {
      if (n.prefix >= w.prefix && (n.address & Mask(w.prefix)) == w.address) {
        p.expected.push_back(n.value);
      }
    }
    probes.push_back(p);
  };
  within("10.1.0.0/16");
  within(*network);
  Probe covering;
  covering.filter.covering = protocol::ParseIpNetwork(*address);
  const V4 a = V4Of(*address);
  for (const V4& n : v4) {
    if ((a.address & Mask(n.prefix)) == n.address) {
      covering.expected.push_back(n.value);
    }
  }
  probes.push_back(covering);
  for (const std::string* v : {address, network, domain}) {
    Probe p;
    p.filter.value = *v;
    p.expected = {*v};
    probes.push_back(p);
  }
  Probe absent;
  absent.filter.value = "10.9.9.9";  // outside the rows' 10.0-10.3/16s
  probes.push_back(absent);
  for (Probe& p : probes) {
    p.filter.limit = kMaxQueryLimit;
    std::sort(p.expected.begin(), p.expected.end());
  }
  return probes;
}

// Each probe's answer from `store` equals the model's.
void ExpectAnswers(Store& store, const std::vector<Probe>& probes) {
  auto reader = ReaderOrDie(store);
  for (size_t i = 0; i < probes.size(); ++i) {
    auto page = reader->Query(probes[i].filter);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> values;
    for (const auto& r : page->rows) values.push_back(r.indicator.value);
    std::sort(values.begin(), values.end());
    EXPECT_EQ(values, probes[i].expected) << "probe " << i;
  }
}

// Today's shape: no index on the indicators table for ids, values or
// addresses (no UNIQUE id either), and every row's id key and value or
// address key in the key tables, at level 1 after a migration.
void ExpectTodaysIndexes(const std::string& path, int64_t rows) {
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"),
            internal::kSchemaVersion);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema WHERE tbl_name = "
                  "'indicators' AND type = 'index' AND (name IN "
                  "('indicators_ip_range', 'indicators_value', "
                  "'indicators_ip_prefix') OR name LIKE 'sqlite_autoindex%')"),
            0);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM pragma_table_info('indicators') "
                  "WHERE name LIKE 'ip_%'"),
            0);
  testing::ExpectEveryRowKeyedOnce(path, rows);
}

// Every row found by its id, with its value.
void ExpectIds(Store& store, const std::vector<RecordRow>& rows) {
  auto reader = ReaderOrDie(store);
  for (const RecordRow& r : rows) {
    auto got = reader->Get(r.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(got->has_value()) << r.body.indicator.value;
    EXPECT_EQ((*got)->indicator.value, r.body.indicator.value);
  }
}

TEST(IpIndexesMigration, AVersion18StoreAnswersEveryQueryAsTheModelSays) {
  TempDir dir;
  const auto rows = MixedRows(3000, 18);
  const auto probes = ProbesOf(rows);
  ASSERT_EQ(probes.size(), 7u);
  ASSERT_GT(probes[0].expected.size(), 100u);  // the /16 holds many
  ASSERT_GT(probes[2].expected.size(), 1u);    // an address and its /24
  ASSERT_EQ(probes.back().expected.size(), 0u);

  const std::string path = dir.File("v18.db");
  { InsertAll(*OpenOrDie(path), rows); }
  RawExec(path, testing::kRollBackToSchema18);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 18);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema "
                  "WHERE name = 'indicators_ip_range'"),
            1);
  auto store = OpenOrDie(path);  // migrates
  ExpectTodaysIndexes(path, static_cast<int64_t>(rows.size()));
  ExpectAnswers(*store, probes);

  // A store written by today's code from the start: the same answers.
  const std::string fresh_path = dir.File("fresh.db");
  auto fresh = OpenOrDie(fresh_path);
  InsertAll(*fresh, rows);
  ExpectAnswers(*fresh, probes);
  ExpectIds(*fresh, rows);
}

TEST(IndexLevelsMigration, AVersion20StoreAnswersEveryQueryAsTheModelSays) {
  TempDir dir;
  const auto rows = MixedRows(3000, 20);
  const auto probes = ProbesOf(rows);
  const std::string path = dir.File("v20.db");
  {
    auto store = OpenOrDie(path);
    InsertAll(*store, rows);
    // A deleted last row: its rid is never handed out again.
    RecordRow last = MakeRow(IndicatorType::kDomain, "gone.example");
    ASSERT_TRUE(testing::Insert(*store, last).ok());
    ASSERT_TRUE(store
                    ->Write([&](WriteTxn& t) {
                      return t.DeleteIndicator(last.id).status();
                    })
                    .get()
                    .ok());
  }
  RawExec(path, testing::kRollBackToSchema20);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 20);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema WHERE name = "
                  "'indicators_ip_prefix'"),
            1);
  const int64_t rid_counter =
      Count(path, "SELECT seq FROM sqlite_sequence WHERE name = 'indicators'");
  EXPECT_EQ(rid_counter, static_cast<int64_t>(rows.size()) + 1);
  auto store = OpenOrDie(path);  // migrates
  ExpectTodaysIndexes(path, static_cast<int64_t>(rows.size()));
  EXPECT_EQ(Count(path, "SELECT count(*) FROM id_keys_0"), 0);
  EXPECT_EQ(
      Count(path, "SELECT seq FROM sqlite_sequence WHERE name = 'indicators'"),
      rid_counter);
  ExpectAnswers(*store, probes);
  ExpectIds(*store, rows);
  // Writes go on in the new shape, after the last rid ever used.
  const RecordRow next = MakeRow(IndicatorType::kDomain, "next.example");
  ASSERT_TRUE(testing::Insert(*store, next).ok());
  auto reader = ReaderOrDie(*store);
  auto got = reader->Get(next.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->cursor, static_cast<uint64_t>(rid_counter) + 1);
}

TEST(IndexLevelsMigration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const std::string original = dir.File("v20.db");
  const auto rows = MixedRows(20000, 21);
  const auto probes = ProbesOf(rows);
  { InsertAll(*OpenOrDie(original), rows); }
  RawExec(original, testing::kRollBackToSchema20);
  const int killed_at_20 = testing::KillDuringOpen(
      dir, original, 6, 20261207, 20, [&](const std::string& path) {
        const int64_t version =
            Count(path, "SELECT max(version) FROM schema_version");
        EXPECT_TRUE(version == 20 || version == internal::kSchemaVersion)
            << version;
        if (version == 20) {
          EXPECT_EQ(Count(path,
                          "SELECT count(*) FROM sqlite_schema "
                          "WHERE name = 'indicators_value'"),
                    1);
        }
        auto store = OpenOrDie(path);
        ExpectTodaysIndexes(path, static_cast<int64_t>(rows.size()));
        ExpectAnswers(*store, probes);
        ExpectIds(*store, rows);
      });
  RecordProperty("killed_before_commit", killed_at_20);
}

// Rows in writes of `chunk` rows each: the writer merges after a commit,
// so this leaves keys at every level where one write would merge once.
void InsertInChunks(Store& store, const std::vector<RecordRow>& rows,
                    size_t chunk) {
  for (size_t i = 0; i < rows.size(); i += chunk) {
    const size_t end = std::min(rows.size(), i + chunk);
    InsertAll(store,
              std::vector<RecordRow>(rows.begin() + i, rows.begin() + end));
  }
}

// Keys at each level count (id keys; every row has one).
std::array<int64_t, 3> KeysPerLevel(const std::string& path) {
  std::array<int64_t, 3> out{};
  for (size_t level = 0; level < out.size(); ++level) {
    out[level] = Count(path, std::string("SELECT count(*) FROM id_keys") +
                                 internal::kKeyLevels[level]);
  }
  return out;
}

// Migration 22 (a middle key level) on a store written by today's code
// with keys at every level: level 0 keeps its keys, what migration 21's
// level 1 held (here levels 1 and 2 together) is level 2, level 1 starts
// empty, and every query answers as before; merges through all three
// levels then go on.
TEST(KeyLevel2Migration, AVersion21StoreAnswersEveryQueryAsTheModelSays) {
  TempDir dir;
  // Distinct values (MixedRows): the first half written before the
  // migration, the second after.
  const auto all = MixedRows(6000, 22);
  const std::vector<RecordRow> rows(all.begin(), all.begin() + 3000);
  const std::vector<RecordRow> more(all.begin() + 3000, all.end());
  const auto probes = ProbesOf(rows);
  const std::string path = dir.File("v21.db");
  StoreOptions small;
  small.level0_merge_rows = 700;
  small.level1_merge_rows = 1500;
  // Writes of 400: level 0 ends with 200, level 1 with 800, level 2 1600.
  { InsertInChunks(*OpenOrDie(path, small), rows, 400); }
  const std::array<int64_t, 3> before = KeysPerLevel(path);
  ASSERT_GT(before[0], 0);
  ASSERT_GT(before[1], 0);
  ASSERT_GT(before[2], 0);
  RawExec(path, testing::kRollBackToSchema21);
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 21);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                  "'%_keys_2'"),
            0);
  {
    auto store = OpenOrDie(path, small);  // migrates
    ExpectTodaysIndexes(path, static_cast<int64_t>(rows.size()));
    const std::array<int64_t, 3> after = KeysPerLevel(path);
    EXPECT_EQ(after[0], before[0]);
    EXPECT_EQ(after[1], 0);
    EXPECT_EQ(after[2], before[1] + before[2]);
    ExpectAnswers(*store, probes);
    ExpectIds(*store, rows);
  }
  // Writes go on, merging into both levels again.
  auto store = OpenOrDie(path, small);
  InsertInChunks(*store, more, 400);
  store.reset();
  store = OpenOrDie(path, small);
  ExpectTodaysIndexes(path, static_cast<int64_t>(all.size()));
  EXPECT_GT(KeysPerLevel(path)[2], before[1] + before[2]);
  ExpectAnswers(*store, ProbesOf(all));
  ExpectIds(*store, all);
}

TEST(KeyLevel2Migration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const std::string original = dir.File("v21.db");
  const auto rows = MixedRows(20000, 24);
  const auto probes = ProbesOf(rows);
  StoreOptions small;
  small.level0_merge_rows = 3000;
  small.level1_merge_rows = 9000;
  { InsertInChunks(*OpenOrDie(original, small), rows, 2000); }
  RawExec(original, testing::kRollBackToSchema21);
  const int killed_at_21 = testing::KillDuringOpen(
      dir, original, 6, 20261208, 21, [&](const std::string& path) {
        const int64_t version =
            Count(path, "SELECT max(version) FROM schema_version");
        EXPECT_TRUE(version == 21 || version == internal::kSchemaVersion)
            << version;
        EXPECT_EQ(Count(path,
                        "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                        "'%_keys_2'"),
                  version == 21 ? 0 : 3);
        auto store = OpenOrDie(path);
        ExpectTodaysIndexes(path, static_cast<int64_t>(rows.size()));
        ExpectAnswers(*store, probes);
        ExpectIds(*store, rows);
      });
  RecordProperty("killed_before_commit", killed_at_21);
}

TEST(IpIndexesMigration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const std::string original = dir.File("v18.db");
  const auto rows = MixedRows(20000, 19);
  const auto probes = ProbesOf(rows);
  { InsertAll(*OpenOrDie(original), rows); }
  RawExec(original, testing::kRollBackToSchema18);
  const int killed_at_18 = testing::KillDuringOpen(
      dir, original, 6, 20261206, 18, [&](const std::string& path) {
        const int64_t version =
            Count(path, "SELECT max(version) FROM schema_version");
        EXPECT_TRUE(version == 18 || version == internal::kSchemaVersion)
            << version;
        if (version == 18) {
          EXPECT_EQ(Count(path,
                          "SELECT count(*) FROM sqlite_schema "
                          "WHERE name = 'indicators_ip_range'"),
                    1);
        }
        auto store = OpenOrDie(path);
        ExpectTodaysIndexes(path, static_cast<int64_t>(rows.size()));
        ExpectAnswers(*store, probes);
      });
  RecordProperty("killed_before_commit", killed_at_18);
}

}  // namespace
}  // namespace caravan::store
