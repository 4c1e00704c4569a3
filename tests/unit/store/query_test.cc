// Reader::Query: every filter, IPv4/IPv6 containment in both directions,
// paging, and that each selective filter is served by an index.

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using protocol::IpNetwork;
using protocol::ParseIpNetwork;
using testing::Insert;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::TempDir;

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(dir_.File("store.db"));
    reader_ = ReaderOrDie(*store_);
  }

  void Add(RecordRow row) {
    Result<InsertOutcome> o = Insert(*store_, row);
    ASSERT_TRUE(o.ok()) << row.body.indicator.value << ": "
                        << o.status().ToString();
  }
  void AddIp(const std::string& value, uint8_t origin = 1) {
    IndicatorType t = value.find(':') != std::string::npos
                          ? IndicatorType::kIpv6
                          : IndicatorType::kIpv4;
    Add(MakeRow(t, value, 1, origin));
  }

  // Values of the matching rows, sorted.
  std::vector<std::string> Values(const QueryFilter& f) {
    Result<QueryPage> page = reader_->Query(f);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (!page.ok()) return out;
    for (const IndicatorRow& r : page->rows) out.push_back(r.indicator.value);
    std::sort(out.begin(), out.end());
    return out;
  }
  static IpNetwork Net(const std::string& text) {
    std::optional<IpNetwork> n = ParseIpNetwork(text);
    EXPECT_TRUE(n.has_value()) << text;
    return n.value_or(IpNetwork{});
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Reader> reader_;
};

using V = std::vector<std::string>;

TEST_F(QueryTest, ExactValueTypeOriginTagSince) {
  RecordRow a = MakeRow(IndicatorType::kDomain, "evil.example", 1, 1, "UZ");
  a.body.created = 100;
  a.body.indicator.tags = {"apt", "c2"};
  RecordRow b = MakeRow(IndicatorType::kUrl, "evil.example", 1, 2, "KZ");
  b.body.created = 200;  // same text, other type (contrived but legal)
  b.body.indicator.tags = {"c2"};
  RecordRow c = MakeRow(IndicatorType::kDomain, "other.example", 1, 2, "KZ");
  c.body.created = 300;
  c.body.indicator.tags = {"phishing"};
  c.received_from = "KZ-CERT";
  Add(a);
  Add(b);
  Add(c);

  QueryFilter f;
  f.value = "evil.example";
  EXPECT_EQ(Values(f), (V{"evil.example", "evil.example"}));
  f.type = IndicatorType::kDomain;
  Result<QueryPage> page = reader_->Query(f);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  const IndicatorRow& row = page->rows[0];
  EXPECT_EQ(row.id, a.id);
  EXPECT_EQ(row.origin_country, "UZ");
  EXPECT_EQ(row.origin_name, "UZ-CERT");
  EXPECT_EQ(row.origin, a.body.origin);
  EXPECT_EQ(row.indicator.tags, (V{"apt", "c2"}));
  EXPECT_EQ(row.created, 100);
  EXPECT_FALSE(row.received_from.has_value());

  QueryFilter by_type;
  by_type.type = IndicatorType::kDomain;
  EXPECT_EQ(Values(by_type), (V{"evil.example", "other.example"}));

  QueryFilter by_origin;
  by_origin.origin_country = "KZ";
  EXPECT_EQ(Values(by_origin), (V{"evil.example", "other.example"}));
  by_origin.type = IndicatorType::kDomain;
  EXPECT_EQ(Values(by_origin), (V{"other.example"}));

  QueryFilter by_tag;
  by_tag.tag = "c2";
  EXPECT_EQ(Values(by_tag), (V{"evil.example", "evil.example"}));
  by_tag.tag = "phishing";
  Result<QueryPage> tagged = reader_->Query(by_tag);
  ASSERT_TRUE(tagged.ok());
  ASSERT_EQ(tagged->rows.size(), 1u);
  EXPECT_EQ(tagged->rows[0].received_from, std::optional<std::string>("KZ-CERT"));
  by_tag.tag = "nothing";
  EXPECT_TRUE(Values(by_tag).empty());

  QueryFilter since;
  since.since = 200;
  EXPECT_EQ(Values(since), (V{"evil.example", "other.example"}));
  since.since = 301;
  EXPECT_TRUE(Values(since).empty());

  QueryFilter none;
  none.value = "absent.example";
  EXPECT_TRUE(Values(none).empty());
}

TEST_F(QueryTest, RevokedOnlyWhenAsked) {
  RecordRow r1 = MakeRow(IndicatorType::kDomain, "gone.example", 1);
  RecordRow r2 = MakeRow(IndicatorType::kDomain, "gone.example", 2);
  r2.body.indicator.revoked = true;
  Add(r1);
  Add(r2);
  QueryFilter f;
  f.value = "gone.example";
  EXPECT_TRUE(Values(f).empty());
  f.include_revoked = true;
  EXPECT_EQ(Values(f), (V{"gone.example"}));
}

TEST_F(QueryTest, PagesWithKeysetCursor) {
  for (int i = 0; i < 25; ++i) {
    Add(MakeRow(IndicatorType::kDomain, "p" + std::to_string(i) + ".example"));
  }
  QueryFilter f;
  f.type = IndicatorType::kDomain;
  f.limit = 10;
  std::set<std::string> seen;
  int pages = 0;
  for (;;) {
    Result<QueryPage> page = reader_->Query(f);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const IndicatorRow& r : page->rows) {
      EXPECT_TRUE(seen.insert(r.indicator.value).second) << r.indicator.value;
    }
    if (page->next_after == 0) break;
    f.after = page->next_after;
  }
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_EQ(pages, 3);

  QueryFilter bad;
  bad.limit = 0;
  EXPECT_EQ(reader_->Query(bad).status().code(), StatusCode::kInvalidInput);
  bad.limit = kMaxQueryLimit + 1;
  EXPECT_EQ(reader_->Query(bad).status().code(), StatusCode::kInvalidInput);
}

TEST_F(QueryTest, Ipv4ContainmentBothWays) {
  for (const char* v : {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3",
                        "10.1.2.4", "11.0.0.0/8", "192.168.0.0/16",
                        "0.0.0.0/0", "2001:db8::/32"}) {
    AddIp(v);
  }
  QueryFilter f;
  f.covering = Net("10.1.2.3");
  EXPECT_EQ(Values(f),
            (V{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
               "10.1.2.3"}));
  f.covering = Net("10.1.2.200");
  EXPECT_EQ(Values(f),
            (V{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"}));
  f.covering = Net("10.2.0.0/16");  // a network: who holds all of it
  EXPECT_EQ(Values(f), (V{"0.0.0.0/0", "10.0.0.0/8"}));
  f.covering = Net("172.16.0.1");
  EXPECT_EQ(Values(f), (V{"0.0.0.0/0"}));

  QueryFilter w;
  w.within = Net("10.1.0.0/16");
  EXPECT_EQ(Values(w),
            (V{"10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "10.1.2.4"}));
  w.within = Net("10.0.0.0/8");
  EXPECT_EQ(Values(w), (V{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
                          "10.1.2.3", "10.1.2.4"}));
  w.within = Net("10.1.2.3");
  EXPECT_EQ(Values(w), (V{"10.1.2.3"}));
  w.within = Net("12.0.0.0/8");
  EXPECT_TRUE(Values(w).empty());
  // Combined with other filters.
  w.within = Net("10.0.0.0/8");
  w.value = "10.1.2.4";
  EXPECT_EQ(Values(w), (V{"10.1.2.4"}));
}

TEST_F(QueryTest, Ipv6ContainmentBothWaysAndFamiliesStayApart) {
  for (const char* v : {"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1",
                        "2001:db9::/32", "::/0", "10.0.0.0/8"}) {
    AddIp(v);
  }
  QueryFilter f;
  f.covering = Net("2001:db8:1::1");
  EXPECT_EQ(Values(f),
            (V{"2001:db8:1::/48", "2001:db8:1::1", "2001:db8::/32", "::/0"}));
  f.covering = Net("2001:db8:2::5");
  EXPECT_EQ(Values(f), (V{"2001:db8::/32", "::/0"}));
  f.covering = Net("10.1.1.1");
  EXPECT_EQ(Values(f), (V{"10.0.0.0/8"}));  // ::/0 is not an IPv4 network

  QueryFilter w;
  w.within = Net("2001:db8::/32");
  EXPECT_EQ(Values(w), (V{"2001:db8:1::/48", "2001:db8:1::1", "2001:db8::/32"}));
  w.within = Net("::/0");
  EXPECT_EQ(Values(w).size(), 5u);
  w.within = Net("0.0.0.0/0");
  EXPECT_EQ(Values(w), (V{"10.0.0.0/8"}));
}

TEST_F(QueryTest, CoveringWithNoIpRowsFindsNothing) {
  Add(MakeRow(IndicatorType::kDomain, "a.example"));
  QueryFilter f;
  f.covering = Net("1.2.3.4");
  EXPECT_TRUE(Values(f).empty());
}

// An address or network as an exact value is found through its IP
// columns (the value index holds the other types only, migration 19):
// with its type, with none, and not under another type.
TEST_F(QueryTest, ExactIpValuesAreFoundByTheirIpColumns) {
  for (const char* v :
       {"10.0.0.0/8", "10.1.2.3", "2001:db8::1", "2001:db8::/32"}) {
    AddIp(v);
  }
  Add(MakeRow(IndicatorType::kDomain, "a.example"));
  QueryFilter f;
  f.value = "10.1.2.3";
  EXPECT_EQ(Values(f), (V{"10.1.2.3"}));
  f.type = IndicatorType::kIpv4;
  EXPECT_EQ(Values(f), (V{"10.1.2.3"}));
  f.value = "10.0.0.0/8";
  EXPECT_EQ(Values(f), (V{"10.0.0.0/8"}));  // the network, not what it holds
  f.type = IndicatorType::kIpv6;
  EXPECT_TRUE(Values(f).empty());
  f.type = IndicatorType::kDomain;
  EXPECT_TRUE(Values(f).empty());
  f.type.reset();
  f.value = "2001:db8::/32";
  EXPECT_EQ(Values(f), (V{"2001:db8::/32"}));
  f.value = "10.1.2.4";
  EXPECT_TRUE(Values(f).empty());
  f.value = "a.example";
  EXPECT_EQ(Values(f), (V{"a.example"}));
  f.type = IndicatorType::kIpv4;  // a domain's text under an IP type
  EXPECT_TRUE(Values(f).empty());
}

// "Within" against a brute-force model over random networks of every
// prefix length: one range of each ip_keys level per length present
// must find exactly the networks inside, and page like any query.
TEST_F(QueryTest, WithinMatchesAModelOverRandomNetworks) {
  // The model: IPv4 networks as (address, prefix) integers.
  struct Held {
    uint32_t address;
    int prefix;
  };
  auto mask = [](int prefix) {
    return prefix == 0 ? 0u : ~0u << (32 - prefix);
  };
  auto text = [](uint32_t a, int prefix) {
    std::string t =
        std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 255) + "." +
        std::to_string(a >> 8 & 255) + "." + std::to_string(a & 255);
    return prefix == 32 ? t : t + "/" + std::to_string(prefix);
  };
  const uint32_t seed = testing::SeedFromEnv("CARAVAN_QUERY_MODEL_SEED", 1906);
  SCOPED_TRACE("CARAVAN_QUERY_MODEL_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<Held> held;
  std::set<std::string> texts;
  while (held.size() < 300) {
    // Three /8s only, so that networks nest and overlap.
    const uint32_t a = (10u + rng() % 3) << 24 | (rng() & 0x00ffffffu);
    const int prefix = rng() % 4 == 0 ? static_cast<int>(8 + rng() % 25) : 32;
    const Held h{a & mask(prefix), prefix};
    if (!texts.insert(text(h.address, h.prefix)).second) continue;
    AddIp(text(h.address, h.prefix));
    held.push_back(h);
  }
  for (int i = 0; i < 60; ++i) {
    const Held& some = held[rng() % held.size()];
    const int w_prefix = static_cast<int>(rng() % (some.prefix + 1));
    const uint32_t w_address = some.address & mask(w_prefix);
    V expected;
    for (const Held& n : held) {
      if (n.prefix >= w_prefix && (n.address & mask(w_prefix)) == w_address) {
        expected.push_back(text(n.address, n.prefix));
      }
    }
    std::sort(expected.begin(), expected.end());
    QueryFilter f;
    f.within = Net(text(w_address, w_prefix));
    f.limit = 7;  // several pages
    V got;
    for (;;) {
      Result<QueryPage> page = reader_->Query(f);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      for (const IndicatorRow& r : page->rows) got.push_back(r.indicator.value);
      if (page->next_after == 0) break;
      f.after = page->next_after;
      // "N more" after this page counts the rest through the same SQL.
      Result<uint64_t> more = reader_->CountMatching(f, 100000);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      EXPECT_EQ(*more, expected.size() - got.size());
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected) << "within " << text(w_address, w_prefix);
    // With a type filter too: the same under ipv4, nothing under another.
    QueryFilter typed;
    typed.within = f.within;
    typed.limit = kMaxQueryLimit;
    typed.type = IndicatorType::kIpv4;
    EXPECT_EQ(Values(typed), expected);
    typed.type = IndicatorType::kDomain;
    EXPECT_TRUE(Values(typed).empty());
  }
}

// The plan must SEARCH (index lookups), never SCAN the indicators table.
void ExpectIndexed(Reader& reader, const QueryFilter& f, const char* what) {
  Result<std::vector<std::string>> plan = reader.ExplainQuery(f);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_FALSE(plan->empty());
  std::string all;
  for (const std::string& line : *plan) all += line + "\n";
  for (const std::string& line : *plan) {
    EXPECT_EQ(line.find("SCAN"), std::string::npos)
        << what << " plan scans:\n" << all;
    // A walk of the table in rowid order is a scan in disguise; a rowid
    // lookup (rowid=?) after an index search is fine.
    if (line.find("INTEGER PRIMARY KEY") != std::string::npos) {
      EXPECT_NE(line.find("(rowid=?)"), std::string::npos)
          << what << " plan walks the table:\n" << all;
    }
  }
  EXPECT_NE(all.find("USING"), std::string::npos) << what << ":\n" << all;
}

void ExpectUses(Reader& reader, const QueryFilter& f, const char* index) {
  ExpectIndexed(reader, f, index);
  Result<std::vector<std::string>> plan = reader.ExplainQuery(f);
  ASSERT_TRUE(plan.ok());
  std::string all;
  for (const std::string& line : *plan) all += line + "\n";
  EXPECT_NE(all.find(index), std::string::npos) << all;
}

TEST_F(QueryTest, SelectiveFiltersUseIndexes) {
  for (const char* v : {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3",
                        "2001:db8::/32"}) {
    AddIp(v);
  }
  Add(MakeRow(IndicatorType::kDomain, "a.example"));
  QueryFilter value;
  value.value = "a.example";
  ExpectIndexed(*reader_, value, "exact value");
  value.type = IndicatorType::kDomain;
  ExpectIndexed(*reader_, value, "exact value + type");
  QueryFilter tag;
  tag.tag = "phishing";
  ExpectIndexed(*reader_, tag, "tag");
  QueryFilter covering;
  covering.covering = Net("10.1.2.3");
  ExpectIndexed(*reader_, covering, "covering address");
  QueryFilter within;
  within.within = Net("10.0.0.0/8");
  ExpectIndexed(*reader_, within, "within network");
  // Through every level of their keys (index_levels.h).
  for (const char* level : {"ip_keys_0", "ip_keys_1", "ip_keys_2"}) {
    ExpectUses(*reader_, within, level);
    ExpectUses(*reader_, covering, level);
  }
  for (const char* level : {"value_keys_0", "value_keys_1", "value_keys_2"}) {
    ExpectUses(*reader_, value, level);
  }
  QueryFilter ip_value;
  ip_value.value = "10.1.2.3";
  ExpectUses(*reader_, ip_value, "ip_keys_2");
  ip_value.type = IndicatorType::kIpv4;
  ExpectUses(*reader_, ip_value, "ip_keys_0");
  QueryFilter origin;
  origin.origin_country = "UZ";
  ExpectIndexed(*reader_, origin, "origin");
  QueryFilter type;
  type.type = IndicatorType::kIpv4;
  ExpectIndexed(*reader_, type, "type");
  QueryFilter since;
  since.since = 5;
  ExpectIndexed(*reader_, since, "since");
  QueryFilter tag_since;
  tag_since.tag = "phishing";
  tag_since.since = 5;
  ExpectIndexed(*reader_, tag_since, "tag + since");
  QueryFilter quarantined;
  quarantined.quarantine = QuarantineFilter::kOnly;
  ExpectIndexed(*reader_, quarantined, "quarantine list");
}

}  // namespace
}  // namespace caravan::store

namespace caravan::store {
namespace {

// An id prefix's candidates come from one range of the id index, whatever
// the rest of the id.
TEST_F(QueryTest, IdsInRangeFindsTheIdsWithAPrefix) {
  std::vector<IndicatorId> ids;
  for (int i = 0; i < 40; ++i) {
    RecordRow row = MakeRow(IndicatorType::kDomain,
                            "d" + std::to_string(i) + ".example");
    ids.push_back(row.id);
    Add(row);
  }
  std::sort(ids.begin(), ids.end());
  // The range of the first id's first byte holds exactly the ids whose
  // first byte is that.
  IndicatorId low{}, high{};
  low.fill(0);
  high.fill(0xff);
  low[0] = high[0] = ids[0][0];
  std::vector<IndicatorId> expected;
  for (const auto& id : ids) {
    if (id[0] == ids[0][0]) expected.push_back(id);
  }
  auto found = reader_->IdsInRange(low, high, 100);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, expected);
  // An exact range is one id; a limit cuts the list.
  auto exact = reader_->IdsInRange(ids[5], ids[5], 10);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, std::vector<IndicatorId>{ids[5]});
  low.fill(0);
  high.fill(0xff);
  auto two = reader_->IdsInRange(low, high, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (std::vector<IndicatorId>{ids[0], ids[1]}));
  EXPECT_FALSE(reader_->IdsInRange(low, high, 0).ok());
}

}  // namespace
}  // namespace caravan::store

namespace caravan::store {
namespace {

TEST_F(QueryTest, CountMatchingCountsWhatFollowsACursorUpToACap) {
  for (int i = 0; i < 30; ++i) {
    Add(MakeRow(IndicatorType::kDomain, "n" + std::to_string(i) + ".example"));
  }
  Add(MakeRow(IndicatorType::kUrl, "http://x.example/"));
  QueryFilter f;
  f.type = IndicatorType::kDomain;
  f.limit = 10;
  auto page = reader_->Query(f);
  ASSERT_TRUE(page.ok());
  ASSERT_NE(page->next_after, 0u);
  f.after = page->next_after;
  auto more = reader_->CountMatching(f, 1000);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(*more, 20u);
  auto capped = reader_->CountMatching(f, 5);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(*capped, 5u);
  f.type = IndicatorType::kSha256;
  auto none = reader_->CountMatching(f, 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_FALSE(reader_->CountMatching(f, 0).ok());
}

}  // namespace
}  // namespace caravan::store
