// Migration 20 (schema.cc, kMigrationDeliveriesByRow): a version-19 store's
// deliveries, keyed by the 32-byte id, are keyed by the indicator's row;
// every delivery of a held indicator reads back as an independent model
// of what was recorded says, one of an id no longer held is dropped, and
// kill -9 during the migration leaves the store at 19 or at 20, never
// between.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

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

const char* const kPeers[] = {"KZ-CERT", "KG-CERT", "TJ-CERT"};

// What each (indicator, peer) delivery should read back as: the highest
// revision recorded, with its variant and time.
using Model = std::map<std::pair<size_t, std::string>, Delivery>;

std::vector<RecordRow> Domains(size_t n) {
  std::vector<RecordRow> rows;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(
        MakeRow(IndicatorType::kDomain, "d" + std::to_string(i) + ".example"));
  }
  return rows;
}

// Random deliveries of `rows` (some to several peers, some revisions
// reported late and lower), written through the store, and their model.
Model DeliverRandomly(Store& store, const std::vector<RecordRow>& rows,
                      size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Model model;
  std::vector<Delivery> all;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = rng() % rows.size();
    Delivery d{
        rows[i].id, kPeers[rng() % 3], static_cast<uint32_t>(1 + rng() % 4),
        static_cast<uint32_t>(rng() % 3), 1000 + static_cast<int64_t>(k)};
    all.push_back(d);
    auto [it, fresh] = model.try_emplace({i, d.peer}, d);
    if (!fresh && d.revision >= it->second.revision) it->second = d;
  }
  EXPECT_TRUE(store
                  .Write([&all](WriteTxn& txn) -> Status {
                    for (const Delivery& d : all) {
                      CARAVAN_RETURN_IF_ERROR(txn.RecordDelivery(d));
                    }
                    return Status::Ok();
                  })
                  .get()
                  .ok());
  return model;
}

void ExpectDeliveries(Store& store, const std::vector<RecordRow>& rows,
                      const Model& model) {
  auto reader = ReaderOrDie(store);
  size_t seen = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    Result<std::vector<Delivery>> got = reader->Deliveries(rows[i].id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (const Delivery& d : *got) {
      auto it = model.find({i, d.peer});
      ASSERT_NE(it, model.end())
          << rows[i].body.indicator.value << " " << d.peer;
      EXPECT_EQ(d.id, rows[i].id);
      EXPECT_EQ(d.revision, it->second.revision);
      EXPECT_EQ(d.variant, it->second.variant);
      EXPECT_EQ(d.delivered_at, it->second.delivered_at);
      ++seen;
    }
  }
  EXPECT_EQ(seen, model.size());
}

// Deliveries keyed by rid, as migration 20 made them (and today's).
void ExpectVersion20Shape(const std::string& path) {
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"),
            internal::kSchemaVersion);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM pragma_table_info('deliveries') "
                  "WHERE name = 'rid'"),
            1);
  EXPECT_EQ(Count(path,
                  "SELECT count(*) FROM pragma_table_info('deliveries') "
                  "WHERE name = 'id'"),
            0);
}

// A version-19 store at `path` holding `rows` and the deliveries of
// `model`, plus one delivery of an id it does not hold.
Model MakeVersion19Store(const std::string& path,
                         const std::vector<RecordRow>& rows, size_t n,
                         uint32_t seed) {
  Model model;
  {
    auto store = OpenOrDie(path);
    InsertAll(*store, rows);
    model = DeliverRandomly(*store, rows, n, seed);
  }
  RawExec(path, testing::kRollBackToSchema19);
  RawExec(path,
          "INSERT INTO deliveries (id, peer, revision, variant, delivered_at) "
          "VALUES (zeroblob(32), 'KZ-CERT', 1, 0, 5)");
  EXPECT_EQ(Count(path, "SELECT max(version) FROM schema_version"), 19);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM deliveries"),
            static_cast<int64_t>(model.size()) + 1);
  return model;
}

TEST(DeliveriesMigration, AVersion19StoreKeepsEveryDeliveryOfWhatItHolds) {
  TempDir dir;
  const auto rows = Domains(500);
  const std::string path = dir.File("v19.db");
  const Model model = MakeVersion19Store(path, rows, 1500, 20);
  ASSERT_GT(model.size(), 600u);
  auto store = OpenOrDie(path);  // migrates
  ExpectVersion20Shape(path);
  ExpectDeliveries(*store, rows, model);
  // The delivery of an id not held is gone.
  EXPECT_EQ(Count(path, "SELECT count(*) FROM deliveries"),
            static_cast<int64_t>(model.size()));
  // Recording goes on in the new shape: a higher revision replaces, a
  // lower one is ignored.
  const auto& [key, first] = *model.begin();
  Delivery higher = first;
  higher.revision = first.revision + 1;
  Delivery lower = first;
  lower.revision = first.revision == 1 ? 1 : first.revision - 1;
  lower.delivered_at = 1;
  ASSERT_TRUE(store
                  ->Write([&](WriteTxn& t) -> Status {
                    CARAVAN_RETURN_IF_ERROR(t.RecordDelivery(higher));
                    return t.RecordDelivery(lower);
                  })
                  .get()
                  .ok());
  Model after = model;
  after[key] = higher;
  ExpectDeliveries(*store, rows, after);
}

TEST(DeliveriesMigration, KillNineDuringTheMigrationLosesNothing) {
  TempDir dir;
  const auto rows = Domains(20000);
  const std::string original = dir.File("v19.db");
  const Model model = MakeVersion19Store(original, rows, 40000, 21);
  const int killed_at_19 = testing::KillDuringOpen(
      dir, original, 6, 20261207, 19, [&](const std::string& path) {
        const int64_t version =
            Count(path, "SELECT max(version) FROM schema_version");
        EXPECT_TRUE(version == 19 || version == internal::kSchemaVersion)
            << version;
        if (version == 19) {
          EXPECT_EQ(Count(path, "SELECT count(*) FROM deliveries"),
                    static_cast<int64_t>(model.size()) + 1);
        }
        auto store = OpenOrDie(path);
        ExpectVersion20Shape(path);
        ExpectDeliveries(*store, rows, model);
      });
  RecordProperty("killed_before_commit", killed_at_19);
}

}  // namespace
}  // namespace caravan::store
