// The direct STIX writer (protocol/formats/stix_json_writer.h) against the
// DOM it replaces on the TAXII paging path: the same bytes as
// StixIndicator(item).dump() with the TAXII server's settings, over every
// optional member and every kind of string escaping.

#include "protocol/formats/stix_json_writer.h"

#include <gtest/gtest.h>

#include <random>

#include "format_test_util.h"

namespace caravan::protocol {
namespace {

using testing::Ind;
using testing::MakeItem;

std::string DomDump(const ExportItem& item) {
  return StixIndicator(item).dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace);
}

std::string Direct(const ExportItem& item,
                   StixOriginTexts* origin_texts = nullptr) {
  std::string out;
  EXPECT_TRUE(AppendStixIndicatorJson(item, out, origin_texts));
  return out;
}

// One value of each type, with a pattern that needs escaping for some.
std::vector<Indicator> OneOfEachType() {
  return {Ind(IndicatorType::kIpv4, "198.51.100.7"),
          Ind(IndicatorType::kIpv4, "10.0.0.0/8"),
          Ind(IndicatorType::kIpv6, "2001:db8::1"),
          Ind(IndicatorType::kDomain, "evil.example.org"),
          Ind(IndicatorType::kUrl, "http://evil.example.org/a'b\\c?d=\"e\""),
          Ind(IndicatorType::kEmail, "bad@example.org"),
          Ind(IndicatorType::kMd5, std::string(32, 'a')),
          Ind(IndicatorType::kSha1, std::string(40, 'b')),
          Ind(IndicatorType::kSha256, std::string(64, 'c')),
          Ind(IndicatorType::kAsn, "AS64500"),
          Ind(IndicatorType::kCve, "CVE-2024-3400")};
}

TEST(StixJsonWriter, EqualsTheDomForEveryTypeAndOptionalMember) {
  std::mt19937 rng(17);
  const std::vector<std::string> descriptions = {
      "",
      "plain words",
      "quote \" backslash \\ tab \t newline \n bell \x07 del \x7f",
      "Ўзбекистон CERT: фишинг — ☠",
      std::string("bad utf-8 \xff\xfe and cut \xd0", 23)};
  const std::vector<std::vector<std::string>> tag_sets = {
      {}, {"c2"}, {"malicious-activity", "phishing"}, {"anonymization",
       "benign", "compromised", "unknown", "фишинг"}};
  size_t checked = 0;
  StixOriginTexts shared_texts;
  for (const Indicator& base : OneOfEachType()) {
    for (int variant = 0; variant < 24; ++variant) {
      Indicator ind = base;
      ind.tlp = static_cast<Tlp>(variant % 5);
      ind.confidence = static_cast<uint8_t>(rng() % 101);
      ind.tags = tag_sets[variant % tag_sets.size()];
      if (variant % 3 == 1) ind.first_seen = 1767225600 - 86400;
      if (variant % 3 == 2) ind.last_seen = 1767225600 + 5;
      if (variant % 4 == 1) ind.valid_until = 1767225600 + 86400 * 30;
      // valid_until before first_seen: valid_from is moved before it.
      if (variant % 4 == 3) {
        ind.first_seen = 1767225600;
        ind.valid_until = 1767225600 - 10;
      }
      ind.reshare = static_cast<Reshare>(variant % 3);
      const uint32_t revision = 1 + static_cast<uint32_t>(variant % 3);
      ExportItem item = MakeItem(ind, 1 + variant % 2, revision,
                                 1767225600 + variant);
      // Fields ValidateIndicator would normalize away are set afterwards:
      // the writer must match whatever a stored record holds.
      item.body.indicator.description =
          descriptions[static_cast<size_t>(variant) % descriptions.size()];
      if (variant % 5 == 4) {
        item.body.indicator.revoked = true;
        item.body.indicator.revoke_reason = "false positive \"oops\"";
      }
      item.body.created_millis = static_cast<uint16_t>(rng() % 1000);
      item.body.variant = static_cast<uint32_t>(variant % 2);
      item.body.origin_seq = (uint64_t{1} << 40) + variant;
      if (revision > 1) item.first_created = 1767225600 - 3600 * variant;
      if (variant % 6 == 5) item.signed_record.clear();
      if (variant % 7 == 3) {
        item.stix_id = "indicator--11111111-2222-4333-8444-555555555555";
      }
      if (variant % 7 == 4) {
        item.stix_id = "vulnerability--11111111-2222-4333-8444-555555555555";
      }
      SCOPED_TRACE(base.value + " variant " + std::to_string(variant));
      ASSERT_EQ(Direct(item), DomDump(item));
      // Origins alternate: the kept texts follow the origin.
      ASSERT_EQ(Direct(item, &shared_texts), DomDump(item));
      const StixObjectHead head = StixHeadOf(item);
      const nlohmann::json dom = StixIndicator(item);
      EXPECT_EQ(head.type, dom["type"].get<std::string>());
      EXPECT_EQ(head.id, dom["id"].get<std::string>());
      EXPECT_EQ(StixTimeMillis(head.modified_millis),
                dom["modified"].get<std::string>());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 11u * 24u);
}

TEST(StixJsonWriter, TimesEqualStixTimeMillisEverywhere) {
  std::vector<int64_t> millis = {
      0, 1, 999, 1000, -1, -999, -1000, -1001,
      951782400000,            // 2000-02-29
      4107542400000,           // 2100-03-01
      1767225600123,           // 2026-01-01T00:00:00.123
      -62167219200000,         // 0000-01-01T00:00:00.000
      -62167219200001,         // the millisecond before: slow path
      253402300799999,         // 9999-12-31T23:59:59.999
      253402300800000,         // year 10000: slow path
      INT64_MAX / 2, INT64_MIN / 2};
  std::mt19937_64 rng(17);
  for (int i = 0; i < 20000; ++i) {
    millis.push_back(static_cast<int64_t>(rng() % 253402300800000ull) -
                     static_cast<int64_t>(rng() % 62167219200000ull));
  }
  for (int64_t ms : millis) {
    std::string out;
    AppendStixTimeMillis(ms, out);
    ASSERT_EQ(out, StixTimeMillis(ms)) << ms;
  }
}

TEST(StixJsonWriter, FarTimesFallBackToTheSameText) {
  Indicator ind = Ind(IndicatorType::kDomain, "far.example.org");
  ExportItem item = MakeItem(ind);
  item.body.indicator.valid_until = 400000000000;  // year 14645
  item.body.indicator.first_seen = -70000000000;   // before year 0
  item.body.indicator.last_seen = 300000000000;
  EXPECT_EQ(Direct(item), DomDump(item));
}

TEST(StixJsonWriter, SignedRecordBase64OfEveryLengthRemainder) {
  ExportItem item = MakeItem(Ind(IndicatorType::kIpv4, "192.0.2.1"));
  std::mt19937 rng(3);
  for (size_t len = 1; len < 70; ++len) {
    item.signed_record.resize(len);
    for (auto& b : item.signed_record) b = static_cast<uint8_t>(rng());
    ASSERT_EQ(Direct(item), DomDump(item)) << len;
  }
}

TEST(StixJsonWriter, AppendsAfterWhatIsThere) {
  ExportItem item = MakeItem(Ind(IndicatorType::kDomain, "a.example.org"));
  std::string out = "[1,";
  ASSERT_TRUE(AppendStixIndicatorJson(item, out));
  EXPECT_EQ(out, "[1," + DomDump(item));
}

TEST(StixJsonWriter, RefusesAValueWithNoPatternAndLeavesTheOutputAlone) {
  ExportItem item = MakeItem(Ind(IndicatorType::kAsn, "AS64500"));
  item.body.indicator.value = "sixty-four";  // not a normalized AS number
  std::string out = "kept";
  EXPECT_FALSE(AppendStixIndicatorJson(item, out));
  EXPECT_EQ(out, "kept");
}

TEST(StixJsonWriter, StringsEscapeAsNlohmannDoes) {
  const std::vector<std::string> samples = {
      "", "plain", "\"", "\\", "\b\f\n\r\t", std::string("\0x", 2), "\x1f",
      "\x7f", "é", "\xe2\x82", "\xc3\x28", "\xf0\x9f\x98\x80"};
  for (const auto& s : samples) {
    std::string out;
    AppendJsonString(s, out);
    EXPECT_EQ(out, nlohmann::json(s).dump(
                       -1, ' ', false,
                       nlohmann::json::error_handler_t::replace));
  }
}

}  // namespace
}  // namespace caravan::protocol
