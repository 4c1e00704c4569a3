// DecisionAudit (daemon/sync/decision_audit.h): per-record decisions
// grouped into batch audit entries by action and rule, in first-seen
// order, split before an entry's detail could pass the store's limit.

#include "daemon/sync/decision_audit.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/record_codec.h"

namespace caravan::daemon::sync {
namespace {

policy::Rule RuleOf(const std::string& key) {
  return {"countries/KZ.toml", 7, key, "TLP:GREEN is at most outbound.max_tlp"};
}

protocol::IndicatorId IdOf(uint32_t n) {
  protocol::IndicatorId id{};
  for (size_t i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

nlohmann::json Detail(const store::AuditEvent& e) {
  return nlohmann::json::parse(e.detail);
}

TEST(DecisionAuditTest, OneRecordEntryIsNamedByItsId) {
  DecisionAudit audit(1234, "node", "CERT-KZ", "KZ");
  audit.Add("share", RuleOf("outbound.max_tlp"), {IdOf(1), 2, 0, 17, {}});
  auto entries = audit.Take();
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(e.time, 1234);
  EXPECT_EQ(e.actor, "node");
  EXPECT_EQ(e.action, "share");
  EXPECT_EQ(e.peer, "CERT-KZ");
  EXPECT_EQ(e.subject, protocol::IdToHex(IdOf(1)));
  const auto d = Detail(e);
  EXPECT_EQ(d["count"], 1);
  EXPECT_EQ(d["country"], "KZ");
  EXPECT_EQ(d["rule"]["file"], "countries/KZ.toml");
  EXPECT_EQ(d["rule"]["line"], 7);
  EXPECT_EQ(d["rule"]["key"], "outbound.max_tlp");
  EXPECT_EQ(d["reason"], "TLP:GREEN is at most outbound.max_tlp");
  ASSERT_EQ(d["records"].size(), 1u);
  EXPECT_EQ(d["records"][0]["id"], protocol::IdToHex(IdOf(1)));
  EXPECT_EQ(d["records"][0]["seq"], 17);
  EXPECT_EQ(d["records"][0]["revision"], 2);
  EXPECT_EQ(d["records"][0]["variant"], 0);
  EXPECT_FALSE(d["records"][0].contains("origin"));
  EXPECT_TRUE(audit.empty());
  EXPECT_TRUE(audit.Take().empty());
}

TEST(DecisionAuditTest, GroupsByActionAndRuleInFirstSeenOrder) {
  DecisionAudit audit(1, "peer:CERT-A", "CERT-A");
  const auto allow = RuleOf("inbound.accept");
  auto other = allow;
  other.reason = "a different reason is a different rule";
  audit.Add("accept", allow, {IdOf(1), 1, 0, 0, "CERT-A"});
  audit.Add("quarantine", allow, {IdOf(2), 1, 0, 0, "CERT-A"});
  audit.Add("accept", other, {IdOf(3), 1, 0, 0, "CERT-B"});
  audit.Add("accept", allow, {IdOf(4), 1, 0, 0, "CERT-\"quoted\""});
  EXPECT_FALSE(audit.empty());
  auto entries = audit.Take();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].action, "accept");
  EXPECT_EQ(entries[0].subject, "2 records");
  EXPECT_EQ(entries[1].action, "quarantine");
  EXPECT_EQ(entries[2].action, "accept");
  EXPECT_EQ(Detail(entries[2])["reason"], other.reason);
  const auto d = Detail(entries[0]);
  EXPECT_FALSE(d.contains("country"));
  ASSERT_EQ(d["records"].size(), 2u);
  EXPECT_EQ(d["records"][0]["id"], protocol::IdToHex(IdOf(1)));
  EXPECT_EQ(d["records"][0]["origin"], "CERT-A");
  EXPECT_EQ(d["records"][1]["id"], protocol::IdToHex(IdOf(4)));
  EXPECT_EQ(d["records"][1]["origin"], "CERT-\"quoted\"");
  EXPECT_FALSE(d["records"][0].contains("seq"));
  EXPECT_EQ(Detail(entries[1])["records"][0]["origin"], "CERT-A");
  EXPECT_EQ(Detail(entries[2])["records"][0]["origin"], "CERT-B");
}

TEST(DecisionAuditTest, SplitsLongListsUnderTheDetailLimit) {
  DecisionAudit audit(1, "node", "CERT-KZ", "KZ");
  const auto rule = RuleOf("outbound.max_tlp");
  constexpr uint32_t kRecords = 2000;
  for (uint32_t i = 1; i <= kRecords; ++i) {
    audit.Add("share", rule, {IdOf(i), 1, 0, i, {}});
  }
  auto entries = audit.Take();
  ASSERT_GT(entries.size(), 1u);
  uint64_t next_seq = 1;
  for (const auto& e : entries) {
    EXPECT_LE(e.detail.size(), store::kMaxAuditDetailBytes);
    const auto d = Detail(e);
    EXPECT_EQ(d["count"], d["records"].size());
    EXPECT_EQ(e.subject, std::to_string(d["records"].size()) + " records");
    // Every record exactly once, in the order added.
    for (const auto& r : d["records"]) {
      EXPECT_EQ(r["seq"], next_seq);
      ++next_seq;
    }
  }
  EXPECT_EQ(next_seq, kRecords + 1);
}

TEST(DecisionAuditTest, LongRuleTextIsCutToFit) {
  DecisionAudit audit(1, "node", "CERT-KZ");
  policy::Rule rule{std::string(4000, 'f'), 1, std::string(4000, 'k'),
                    std::string(10000, 'r')};
  for (uint32_t i = 1; i <= 600; ++i) {
    audit.Add("share", rule, {IdOf(i), 1, 0, i, {}});
  }
  for (const auto& e : audit.Take()) {
    EXPECT_LE(e.detail.size(), store::kMaxAuditDetailBytes);
    const auto d = Detail(e);
    EXPECT_EQ(d["reason"].get<std::string>().size(), 2048u);
    EXPECT_EQ(d["rule"]["key"].get<std::string>().size(), 512u);
  }
}

}  // namespace
}  // namespace caravan::daemon::sync
