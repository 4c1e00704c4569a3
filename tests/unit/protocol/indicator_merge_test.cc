#include "protocol/indicator_merge.h"

#include <gtest/gtest.h>

namespace caravan::protocol {
namespace {

using Changes = std::vector<std::string>;

Indicator Existing() {
  Indicator ind;
  ind.type = IndicatorType::kDomain;
  ind.value = "evil.example";
  ind.tlp = Tlp::kGreen;
  ind.confidence = 50;
  ind.tags = {"internal", "phishing"};
  ind.description = "seen in a campaign";
  ind.first_seen = 1000;
  ind.last_seen = 2000;
  ind.valid_until = 5000;
  ind.reshare = Reshare::kDirect;
  return ind;
}

// A plain re-submission of Existing(): same value, no context of its own
// (node defaults filled in, which a merge must ignore).
Indicator Plain() {
  Indicator ind;
  ind.type = IndicatorType::kDomain;
  ind.value = "evil.example";
  ind.tlp = Tlp::kAmber;       // node default
  ind.confidence = 70;         // node default
  ind.reshare = Reshare::kFederation;  // node default
  return ind;
}

constexpr SubmittedFields kNothingGiven{false, false, false};
constexpr SubmittedFields kAllGiven{true, true, true};

MergeResult MustMerge(const Indicator& existing, const Indicator& submitted,
                      SubmittedFields given = kAllGiven,
                      ResubmitMode mode = ResubmitMode::kMerge) {
  auto r = MergeResubmission(existing, submitted, given, mode);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : MergeResult{};
}

// Issue 13 finding 6: a plain feed line must not drop the tag that keeps
// the value from KZ.
TEST(IndicatorMerge, PlainResubmissionKeepsEverythingAndIsUnchanged) {
  auto r = MustMerge(Existing(), Plain(), kNothingGiven);
  EXPECT_EQ(r.merged, Existing());
  EXPECT_TRUE(r.changes.empty());
}

TEST(IndicatorMerge, TlpKeepsTheStricter) {
  Indicator looser = Plain();
  looser.tlp = Tlp::kClear;
  EXPECT_EQ(MustMerge(Existing(), looser).merged.tlp, Tlp::kGreen);
  Indicator stricter = Plain();
  stricter.tlp = Tlp::kAmberStrict;
  auto r = MustMerge(Existing(), stricter, {true, false, false});
  EXPECT_EQ(r.merged.tlp, Tlp::kAmberStrict);
  EXPECT_EQ(r.changes, Changes{"tlp green->amber+strict"});
}

TEST(IndicatorMerge, TlpFromNodeDefaultDoesNotTighten) {
  // Plain() carries amber from the node default, stricter than green:
  // not given, so it is not taken.
  EXPECT_EQ(MustMerge(Existing(), Plain(), kNothingGiven).merged.tlp,
            Tlp::kGreen);
}

TEST(IndicatorMerge, ReshareKeepsTheStricter) {
  Indicator wider = Plain();
  wider.reshare = Reshare::kFederation;
  EXPECT_EQ(MustMerge(Existing(), wider).merged.reshare, Reshare::kDirect);
  Indicator narrower = Plain();
  narrower.reshare = Reshare::kNone;
  auto r = MustMerge(Existing(), narrower, {false, false, true});
  EXPECT_EQ(r.merged.reshare, Reshare::kNone);
  EXPECT_EQ(r.changes, Changes{"reshare direct->none"});
}

TEST(IndicatorMerge, ConfidenceOnlyWhenGiven) {
  Indicator s = Plain();
  s.confidence = 90;
  EXPECT_EQ(MustMerge(Existing(), s, kNothingGiven).merged.confidence, 50);
  auto r = MustMerge(Existing(), s, {false, true, false});
  EXPECT_EQ(r.merged.confidence, 90);
  EXPECT_EQ(r.changes, Changes{"confidence 50->90"});
  s.confidence = 20;  // an explicit lower assessment is taken too
  EXPECT_EQ(MustMerge(Existing(), s, {false, true, false}).merged.confidence,
            20);
}

TEST(IndicatorMerge, TagsAreTheUnionIgnoringCase) {
  Indicator s = Plain();
  s.tags = {"INTERNAL", "attack:T1566", "c2"};
  auto r = MustMerge(Existing(), s, kNothingGiven);
  EXPECT_EQ(r.merged.tags,
            (std::vector<std::string>{"attack:T1566", "c2", "internal",
                                      "phishing"}));
  EXPECT_EQ(r.changes, (Changes{"+tag attack:T1566", "+tag c2"}));
}

TEST(IndicatorMerge, TooManyTagsInTheUnionIsRefused) {
  Indicator existing = Existing();
  existing.tags.clear();
  Indicator s = Plain();
  for (size_t i = 0; i < kMaxTags; ++i) {
    existing.tags.push_back("a" + std::to_string(i));
    s.tags.push_back("b" + std::to_string(i));
  }
  auto r = MergeResubmission(existing, s, kNothingGiven, ResubmitMode::kMerge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("--replace"), std::string::npos);
}

TEST(IndicatorMerge, DescriptionReplacedOnlyByANonEmptyOne) {
  Indicator s = Plain();
  EXPECT_EQ(MustMerge(Existing(), s).merged.description, "seen in a campaign");
  s.description = "now also delivering malware";
  auto r = MustMerge(Existing(), s, kNothingGiven);
  EXPECT_EQ(r.merged.description, "now also delivering malware");
  EXPECT_EQ(r.changes, Changes{"description changed"});
}

TEST(IndicatorMerge, TimesKeepTheWiderWindow) {
  Indicator s = Plain();
  s.first_seen = 500;   // earlier: taken
  s.last_seen = 1500;   // earlier than 2000: not taken
  s.valid_until = 9000; // later: taken
  auto r = MustMerge(Existing(), s, kNothingGiven);
  EXPECT_EQ(r.merged.first_seen, 500);
  EXPECT_EQ(r.merged.last_seen, 2000);
  EXPECT_EQ(r.merged.valid_until, 9000);
  EXPECT_EQ(r.changes,
            (Changes{"valid_until 1970-01-01T01:23:20Z->1970-01-01T02:30:00Z",
                     "first_seen 1970-01-01T00:16:40Z->1970-01-01T00:08:20Z"}));

  s.first_seen = 1200;  // later: not taken
  s.last_seen = 3000;   // later: taken
  s.valid_until = 4000; // earlier: not taken
  r = MustMerge(Existing(), s, kNothingGiven);
  EXPECT_EQ(r.merged.first_seen, 1000);
  EXPECT_EQ(r.merged.last_seen, 3000);
  EXPECT_EQ(r.merged.valid_until, 5000);
}

TEST(IndicatorMerge, UnsetTimesTakeTheOtherSide) {
  Indicator existing = Existing();
  existing.first_seen = existing.last_seen = existing.valid_until = 0;
  Indicator s = Plain();
  s.first_seen = 10;
  s.last_seen = 20;
  s.valid_until = 30;
  auto r = MustMerge(existing, s, kNothingGiven);
  EXPECT_EQ(r.merged.first_seen, 10);
  EXPECT_EQ(r.merged.last_seen, 20);
  EXPECT_EQ(r.merged.valid_until, 30);
  // And a submission without times keeps the stored ones.
  EXPECT_EQ(MustMerge(Existing(), Plain(), kNothingGiven).merged.valid_until,
            5000);
}

TEST(IndicatorMerge, MergeIsIdempotent) {
  Indicator s = Plain();
  s.tags = {"new"};
  s.tlp = Tlp::kRed;
  s.last_seen = 2500;
  auto once = MustMerge(Existing(), s);
  auto twice = MustMerge(once.merged, s);
  EXPECT_EQ(twice.merged, once.merged);
  EXPECT_TRUE(twice.changes.empty());
}

TEST(IndicatorMerge, RevokedIsNotRevivedByAMerge) {
  Indicator revoked = Existing();
  revoked.revoked = true;
  revoked.revoke_reason = "false positive";
  auto r = MergeResubmission(revoked, Plain(), kAllGiven, ResubmitMode::kMerge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("revoked (false positive)"),
            std::string::npos);
  EXPECT_NE(r.status().message().find("--replace"), std::string::npos);

  auto replaced = MustMerge(revoked, Plain(), kAllGiven,
                            ResubmitMode::kReplace);
  EXPECT_EQ(replaced.merged, Plain());
  EXPECT_FALSE(replaced.merged.revoked);
  ASSERT_FALSE(replaced.changes.empty());
  EXPECT_EQ(replaced.changes.back(), "revived");
}

TEST(IndicatorMerge, ReplaceTakesTheSubmissionWholeAndSaysWhatWentAway) {
  Indicator s = Plain();
  s.tlp = Tlp::kClear;
  s.tags = {"phishing"};
  s.confidence = 50;
  s.reshare = Reshare::kDirect;
  s.description = "seen in a campaign";
  s.first_seen = 1000;
  s.last_seen = 2000;
  s.valid_until = 5000;
  auto r = MustMerge(Existing(), s, kNothingGiven, ResubmitMode::kReplace);
  EXPECT_EQ(r.merged, s);
  EXPECT_EQ(r.changes, (Changes{"tlp green->clear", "-tag internal"}));
  // Replacing with identical content changes nothing.
  auto same = MustMerge(Existing(), Existing(), kAllGiven,
                        ResubmitMode::kReplace);
  EXPECT_TRUE(same.changes.empty());
  EXPECT_EQ(same.merged, Existing());
}

TEST(IndicatorMerge, DescribeChangesListsFieldsInOrder) {
  Indicator before = Existing();
  Indicator after = before;
  after.tlp = Tlp::kAmber;
  after.tags = {"c2", "phishing"};
  after.confidence = 60;
  after.description.clear();
  EXPECT_EQ(DescribeChanges(before, after),
            (Changes{"tlp green->amber", "+tag c2", "-tag internal",
                     "confidence 50->60", "description removed"}));
  EXPECT_TRUE(DescribeChanges(before, before).empty());
}

}  // namespace
}  // namespace caravan::protocol
