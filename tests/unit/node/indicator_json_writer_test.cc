// The direct indicator writer (daemon/node/indicator_json_writer.h)
// against the DOM it replaces on the query path: the same bytes as
// DumpJson of IndicatorJson with AddMemberTrustJson's marks, the
// warninglist member and export's record members, over every optional
// member and every kind of string escaping.

#include "daemon/node/indicator_json_writer.h"

#include <gtest/gtest.h>

#include <random>

#include "daemon/feeds/export_item.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/member_trust_json.h"

namespace caravan::daemon {
namespace {

// What the query handler wrote through the DOM before the writer.
std::string DomDump(const store::IndicatorRow& row,
                    const IndicatorJsonMarks& marks,
                    const store::MemberTrust& trust) {
  nlohmann::json j = IndicatorJson(row, marks.verified);
  if (marks.trust) AddMemberTrustJson(trust, nullptr, row, j);
  std::optional<store::WarninglistHit> hit;
  if (marks.warninglist != nullptr) hit = *marks.warninglist;
  j["warninglist"] = WarninglistJson(hit);
  if (marks.record != nullptr) {
    j["signed_record"] = marks.record->signed_record_base64;
    j["first_created"] = TimeOrNull(marks.record->first_created);
    if (!marks.record->stix_id.empty()) j["stix_id"] = marks.record->stix_id;
  }
  return DumpJson(j);
}

std::string Direct(const store::IndicatorRow& row,
                   const IndicatorJsonMarks& marks) {
  std::string out = "prefix";
  AppendIndicatorJson(row, marks, out);
  EXPECT_EQ(out.substr(0, 6), "prefix") << "the writer appends";
  return out.substr(6);
}

template <typename T>
const T& Pick(std::mt19937& rng, const std::vector<T>& choices) {
  return choices[rng() % choices.size()];
}

TEST(IndicatorJsonWriter, EqualsTheDomOverEveryOptionalMember) {
  std::mt19937 rng(20261206);
  const std::vector<std::string> texts = {
      "", "plain words",
      "quote \" backslash \\ tab \t newline \n bell \x07 del \x7f",
      "Ўзбекистон CERT: фишинг — ☠",
      std::string("bad utf-8 \xff\xfe and cut \xd0", 23)};
  const std::vector<std::vector<std::string>> tag_sets = {
      {},
      {"c2"},
      {"malicious-activity", "phishing"},
      {"a\"b", "benign", "фишинг"}};
  const std::vector<int64_t> times = {0, 1, 1767225600, 4102444799, -86400};
  const std::vector<protocol::IndicatorType> types = {
      protocol::IndicatorType::kIpv4, protocol::IndicatorType::kDomain,
      protocol::IndicatorType::kUrl, protocol::IndicatorType::kSha256};
  const std::vector<protocol::Tlp> tlps = {
      protocol::Tlp::kClear, protocol::Tlp::kGreen, protocol::Tlp::kAmber,
      protocol::Tlp::kAmberStrict, protocol::Tlp::kRed};
  const std::vector<protocol::Reshare> reshares = {
      protocol::Reshare::kNone, protocol::Reshare::kDirect,
      protocol::Reshare::kFederation};

  for (int i = 0; i < 3000; ++i) {
    store::IndicatorRow row;
    for (auto& b : row.id) b = static_cast<uint8_t>(rng());
    for (auto& b : row.origin) b = static_cast<uint8_t>(rng());
    protocol::Indicator& ind = row.indicator;
    ind.type = Pick(rng, types);
    ind.value = Pick(rng, texts);
    ind.tlp = Pick(rng, tlps);
    ind.confidence = static_cast<uint8_t>(rng() % 101);
    ind.tags = Pick(rng, tag_sets);
    ind.description = Pick(rng, texts);
    ind.first_seen = Pick(rng, times);
    ind.last_seen = Pick(rng, times);
    ind.valid_until = Pick(rng, times);
    ind.reshare = Pick(rng, reshares);
    ind.revoked = rng() % 2;
    ind.revoke_reason = Pick(rng, texts);
    row.origin_country = rng() % 2 ? "UZ" : "";
    row.origin_name = Pick(rng, texts);
    row.revision = rng() % 3 == 0 ? UINT32_MAX : rng() % 5;
    row.variant = rng() % 3;
    row.created = Pick(rng, times);
    if (rng() % 2) row.received_from = Pick(rng, texts);
    row.quarantined = rng() % 2;
    row.warning = rng() % 2;  // the DOM's placeholder, always replaced
    row.stored_at = Pick(rng, times);

    IndicatorJsonMarks marks;
    switch (rng() % 3) {
      case 0:
        break;
      case 1:
        marks.verified = true;
        break;
      default:
        marks.verified = false;
    }
    store::MemberTrust trust;
    if (rng() % 4 != 0) {
      if (rng() % 2) {
        store::CompromisedKey c;
        c.key = row.origin;
        c.since = rng() % 2 ? 0 : row.created + 1;  // covers it or not
        c.declared_at = Pick(rng, times);
        for (auto& b : c.declared_by) b = static_cast<uint8_t>(rng());
        c.action = rng() % 2 ? store::CompromiseAction::kQuarantine
                             : store::CompromiseAction::kFlag;
        trust.compromised[row.origin] = c;
      }
      if (rng() % 2) trust.departed[row.origin] = {};
      marks.trust =
          IndicatorJsonMarks::Trust{CompromiseCovering(trust, nullptr, row),
                                    trust.IsDeparted(row.origin)};
    }
    store::WarninglistHit hit;
    if (rng() % 2) {
      hit.list = Pick(rng, texts) + "list";
      hit.entry = Pick(rng, texts);
      hit.forced = rng() % 2;
      marks.warninglist = &hit;
    }
    IndicatorJsonMarks::Record record;
    if (rng() % 3 == 0) {
      std::vector<uint8_t> bytes(rng() % 40);
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
      record.signed_record_base64 = feeds::ToBase64(bytes);
      record.first_created = Pick(rng, times);
      if (rng() % 2) record.stix_id = "indicator--" + Pick(rng, texts);
      marks.record = &record;
    }
    ASSERT_EQ(Direct(row, marks), DomDump(row, marks, trust)) << "case " << i;
  }
}

TEST(IndicatorJsonWriter, AQuarantinedRowSaysWhy) {
  store::IndicatorRow row;
  row.quarantined = true;
  store::CompromisedKey quarantine;
  quarantine.action = store::CompromiseAction::kQuarantine;
  IndicatorJsonMarks marks;
  marks.trust = IndicatorJsonMarks::Trust{&quarantine, false};
  EXPECT_NE(
      Direct(row, marks).find("\"quarantine_reason\":\"compromised_key\""),
      std::string::npos);
  marks.trust = IndicatorJsonMarks::Trust{nullptr, false};
  EXPECT_NE(Direct(row, marks).find("\"quarantine_reason\":\"inbound_policy\""),
            std::string::npos);
  // Without trust marks (an export) there is no reason member at all.
  marks.trust.reset();
  EXPECT_EQ(Direct(row, marks).find("quarantine_reason"), std::string::npos);
}

TEST(IndicatorJsonWriter, TheTextParsesAsOneObject) {
  store::IndicatorRow row;
  row.indicator.value = std::string("x\xff\"y", 4);
  row.indicator.tags = {"t1", "t2"};
  IndicatorJsonMarks marks;
  const auto parsed = nlohmann::json::parse(Direct(row, marks), nullptr,
                                            /*allow_exceptions=*/false);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_EQ(parsed["value"],
            "x\xef\xbf\xbd\"y");  // U+FFFD replaces the bad byte
  EXPECT_EQ(parsed["tags"], nlohmann::json({"t1", "t2"}));
  EXPECT_TRUE(parsed["verified"].is_null());
}

}  // namespace
}  // namespace caravan::daemon
