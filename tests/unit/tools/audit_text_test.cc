#include "tools/audit_text.h"

#include <gtest/gtest.h>

namespace caravan::tools {
namespace {

const std::string kId =
    "507fda23c1a0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b";

TEST(AuditText, ShortIdCutsOnlyIds) {
  EXPECT_EQ(ShortId(kId), "507fda23c1a0");
  EXPECT_EQ(ShortId("CERT-KZ"), "CERT-KZ");
  EXPECT_EQ(ShortId(std::string(64, 'x')), std::string(64, 'x'));
}

TEST(AuditText, SummaryIsOneReadableLine) {
  nlohmann::json detail = {{"seq", 12},
                           {"country", "KZ"},
                           {"reason", "quota\nreached"},
                           {"retry_at", 1796428800},
                           {"id", kId},
                           {"gone", nullptr}};
  // Keys in the order nlohmann keeps them (sorted); the epoch is a time.
  EXPECT_EQ(AuditSummary(detail),
            "country=KZ, id=507fda23c1a0, reason=quota reached, "
            "retry_at=2026-12-05T00:00:00Z, seq=12");
  EXPECT_EQ(AuditSummary(nlohmann::json("plain text")), "plain text");
  EXPECT_EQ(AuditSummary(nlohmann::json::object()), "");
}

TEST(AuditText, BatchRecordListsAreCountedAndLongTextCut) {
  nlohmann::json batch = {{"records", nlohmann::json::array({1, 2, 3})}};
  EXPECT_EQ(AuditSummary(batch), "records=3 records, listed with --json");
  nlohmann::json big = {{"note", std::string(1000, 'n')}};
  const std::string s = AuditSummary(big);
  EXPECT_EQ(s.size(), kMaxAuditSummary);
  EXPECT_EQ(s.substr(s.size() - 3), "...");
}

TEST(AuditText, RowsAreAligned) {
  nlohmann::json e = {{"seq", 7},
                      {"time", "2026-12-05T09:00:00Z"},
                      {"actor", "uid:0"},
                      {"action", "revoke"},
                      {"subject", kId},
                      {"peer", nullptr},
                      {"detail", {{"reason", "fp"}}}};
  const std::string header = AuditHeader();
  const std::string row = AuditRow(e);
  EXPECT_EQ(row,
            "7        2026-12-05T09:00:00Z  uid:0     revoke                "
            "  507fda23c1a0  -           reason=fp\n");
  // Every column starts where its header does.
  EXPECT_EQ(header.find("SUBJECT"), row.find("507fda23c1a0"));
  EXPECT_EQ(header.find("SUMMARY"), row.find("reason=fp"));
}

}  // namespace
}  // namespace caravan::tools
