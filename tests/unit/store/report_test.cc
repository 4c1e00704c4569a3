// Reader::CountDecisions (`caravan report`'s SQL aggregates) against an
// independent count, in C++, of the same seeded random audit entries.

#include <map>
#include <random>
#include <tuple>

#include <nlohmann/json.hpp>

#include "protocol/indicator.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using testing::MakeRow;
using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::TempDir;

constexpr int64_t kDay0 = 1'700'006'400;  // a UTC midnight (19676 * 86400)

struct Seeded {
  std::map<std::tuple<std::string, std::string, std::string, std::string,
                      int64_t, std::string>,
           std::pair<uint64_t, uint64_t>>
      rules;  // (action, peer, country, file, line, key) -> entries, records
  std::map<std::pair<int64_t, std::string>, uint64_t> days;
  std::map<std::tuple<std::string, int64_t, int64_t>, uint64_t> kinds;
};

class ReportCountsTest : public ::testing::Test {
 protected:
  // Stores `records` indicators of random TLP and type, then `entries`
  // audit entries of random record decisions (and some other actions the
  // report must ignore) spread over `days` days, counting in `expected`
  // what falls in [since, until].
  void Seed(uint32_t seed, int records, int entries, int days, int64_t since,
            int64_t until) {
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) {
      return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng));
    };
    auto store = OpenOrDie(path_);
    struct Held {
      uint64_t seq;
      int64_t tlp, type;
    };
    std::vector<Held> held;
    for (int i = 0; i < records; ++i) {
      const auto type = static_cast<protocol::IndicatorType>(pick(3) + 2);
      auto row = MakeRow(type, "v" + std::to_string(i) + ".example");
      row.body.indicator.tlp = static_cast<protocol::Tlp>(pick(4));
      if (type == protocol::IndicatorType::kUrl) {
        row.body.indicator.value = "http://" + row.body.indicator.value + "/";
      }
      row.id = testing::IdOf(row.body.origin, type, row.body.indicator.value);
      auto inserted = testing::Insert(*store, row);
      ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
      held.push_back({inserted->log_seq,
                      static_cast<int64_t>(row.body.indicator.tlp),
                      static_cast<int64_t>(type)});
    }
    const std::vector<std::string> peers = {"KZ-CERT", "KG-CERT", "TJ-CERT"};
    const std::vector<std::string> countries = {"KZ", "KG", "TJ"};
    const std::vector<std::string> actions = {
        "share", "withdraw", "withhold", "defer", "accept",
        "quarantine", "reject", "submit", "link-up"};
    const std::vector<std::tuple<std::string, int64_t, std::string>> rules = {
        {"countries/KZ.toml", 3, "outbound.max_tlp"},
        {"protected.toml", 7, "domains"},
        {"", 0, "tlp_red"},
        {"default.toml", 12, "outbound.max_per_day"}};
    std::vector<AuditEvent> events;
    for (int i = 0; i < entries; ++i) {
      AuditEvent e;
      e.time = kDay0 + pick(days * 86400);
      e.action = actions[static_cast<size_t>(pick(9))];
      const int p = pick(3);
      e.peer = peers[static_cast<size_t>(p)];
      e.actor = "node";
      e.subject = "s" + std::to_string(i);
      const auto& [file, line, key] = rules[static_cast<size_t>(pick(4))];
      nlohmann::json rule = {{"file", file}, {"line", line}, {"key", key}};
      nlohmann::json d = nlohmann::json::object();
      std::string country;
      uint64_t n = 1;
      const bool batch = e.action == "share" || e.action == "withdraw" ||
                         e.action == "accept" || e.action == "quarantine";
      const bool outbound = e.action == "share" || e.action == "withdraw" ||
                            e.action == "withhold" || e.action == "defer";
      std::vector<size_t> listed;
      if (batch) {
        n = static_cast<uint64_t>(pick(5) + 1);
        nlohmann::json list = nlohmann::json::array();
        for (uint64_t k = 0; k < n; ++k) {
          // One in eight names a seq the store does not hold (retention).
          const size_t h = static_cast<size_t>(pick(records + records / 7));
          listed.push_back(h);
          const uint64_t seq = h < held.size() ? held[h].seq : 1'000'000 + h;
          list.push_back({{"id", "00"}, {"seq", seq}, {"revision", 1}});
        }
        d = {{"count", n}, {"rule", rule}, {"records", list}};
      } else if (e.action == "reject") {
        d = {{"sender_seq", i}, {"reason", "bad signature"}};
        rule = nullptr;
      } else if (outbound) {
        d = {{"seq", 5}, {"rule", rule}, {"retry_at", 0}};
      } else {
        d = {{"n", i}};
        rule = nullptr;
      }
      if (outbound) {
        country = countries[static_cast<size_t>(p)];
        d["country"] = country;
      }
      e.detail = d.dump();
      if (e.time >= since && e.time <= until && e.action != "submit" &&
          e.action != "link-up") {
        std::string rf, rk;
        int64_t rl = 0;
        if (!rule.is_null()) {
          rf = file;
          rl = line;
          rk = key;
        }
        auto& r = expected_.rules[{e.action, e.peer, country, rf, rl, rk}];
        r.first += 1;
        r.second += n;
        expected_.days[{e.time / 86400, e.action}] += n;
        if (e.action == "share") {
          for (size_t h : listed) {
            const bool known = h < held.size();
            expected_.kinds[{e.peer, known ? held[h].tlp : -1,
                             known ? held[h].type : -1}] += 1;
          }
        }
      }
      events.push_back(std::move(e));
    }
    auto appended = store
                        ->WriteValue<uint64_t>([&events](WriteTxn& t) {
                          return t.AppendAudits(events);
                        })
                        .get();
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  }

  Seeded Counted(int64_t since, int64_t until) {
    auto store = OpenOrDie(path_);
    auto counts = ReaderOrDie(*store)->CountDecisions(since, until);
    EXPECT_TRUE(counts.ok()) << counts.status().ToString();
    Seeded got;
    if (!counts.ok()) return got;
    for (const auto& g : counts->rules) {
      auto key = std::tuple{g.action, g.peer, g.country, g.rule_file,
                            g.rule_line, g.rule_key};
      EXPECT_EQ(got.rules.count(key), 0u) << "group twice: " << g.action;
      got.rules[key] = {g.entries, g.records};
    }
    for (const auto& d : counts->days) got.days[{d.day, d.action}] += d.records;
    for (const auto& k : counts->shared_kinds) {
      got.kinds[{k.peer, k.tlp, k.type}] += k.records;
    }
    return got;
  }

  TempDir dir_;
  std::string path_ = dir_.File("store.db");
  Seeded expected_;
};

TEST_F(ReportCountsTest, SqlAggregatesEqualAnIndependentCountOfTheSameRows) {
  const int64_t since = kDay0 + 86400 + 3600;  // inside day 1
  const int64_t until = kDay0 + 4 * 86400 - 1;
  Seed(/*seed=*/15, /*records=*/40, /*entries=*/3000, /*days=*/6, since,
       until);
  const Seeded got = Counted(since, until);
  ASSERT_FALSE(expected_.rules.empty());
  EXPECT_EQ(got.rules, expected_.rules);
  EXPECT_EQ(got.days, expected_.days);
  EXPECT_EQ(got.kinds, expected_.kinds);
  // The period's edges: day 1 starts late, day 4 is outside.
  EXPECT_EQ(got.days.count({kDay0 / 86400, "share"}), 0u);
  EXPECT_EQ(got.days.count({kDay0 / 86400 + 4, "share"}), 0u);
}

TEST_F(ReportCountsTest, OtherSeedsAndTheWholeLog) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    expected_ = {};
    path_ = dir_.File("store" + std::to_string(seed) + ".db");
    Seed(seed, 10 + static_cast<int>(seed) * 7, 800, 3, 0, INT64_MAX);
    const Seeded got = Counted(0, INT64_MAX);
    EXPECT_EQ(got.rules, expected_.rules) << "seed " << seed;
    EXPECT_EQ(got.days, expected_.days) << "seed " << seed;
    EXPECT_EQ(got.kinds, expected_.kinds) << "seed " << seed;
  }
}

TEST_F(ReportCountsTest, EmptyPeriodCountsNothing) {
  Seed(7, 5, 200, 2, 0, -1);  // nothing expected
  const Seeded got = Counted(kDay0 - 86400, kDay0 - 1);
  EXPECT_TRUE(got.rules.empty());
  EXPECT_TRUE(got.days.empty());
  EXPECT_TRUE(got.kinds.empty());
}

TEST_F(ReportCountsTest, APeriodEndingBeforeItStartsIsRefused) {
  auto store = OpenOrDie(path_);
  auto counts = ReaderOrDie(*store)->CountDecisions(kDay0, kDay0 - 1);
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(counts.status().message().find("after until"), std::string::npos);
}

TEST_F(ReportCountsTest, ADetailThatIsNotJsonCountsAsOneRecordWithoutRule) {
  auto store = OpenOrDie(path_);
  AuditEvent e{kDay0 + 5, "node", "share", "x", "KZ-CERT", "not json{"};
  ASSERT_TRUE(store
                  ->WriteValue<uint64_t>(
                      [&e](WriteTxn& t) { return t.AppendAudit(e); })
                  .get()
                  .ok());
  auto counts = ReaderOrDie(*store)->CountDecisions(kDay0, kDay0 + 86400);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  ASSERT_EQ(counts->rules.size(), 1u);
  EXPECT_EQ(counts->rules[0].records, 1u);
  EXPECT_EQ(counts->rules[0].rule_key, "");
  EXPECT_TRUE(counts->shared_kinds.empty());
}

}  // namespace
}  // namespace caravan::store
