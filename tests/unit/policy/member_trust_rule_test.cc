// The member trust rules of DecideShare (issue 16): a removed member's
// records and a compromised key's records since its time never leave,
// whatever the policy allows or the peer holds.
#include "daemon/policy/member_trust_rule.h"

#include <gtest/gtest.h>

#include "daemon/policy/share_decision.h"
#include "tests/unit/policy/policy_test_util.h"

namespace caravan::policy {
namespace {

using protocol::IndicatorType;
using protocol::Tlp;
using testing::MustLoad;
using testing::Record;
using Action = ShareDecision::Action;

constexpr int64_t kNow = 1'700'100'000;

PolicySet ShareAll() {
  return MustLoad({{"kz.toml",
                    "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                    "reshare = \"federation\"\n"}});
}

protocol::RecordBody Created(int64_t created) {
  auto r = Record(IndicatorType::kDomain, "sup.example", Tlp::kGreen);
  r.created = created;
  r.indicator.reshare = protocol::Reshare::kFederation;
  return r;
}

ShareInputs Relay(OriginTrust trust) {
  ShareInputs in;
  in.now = kNow;
  in.is_relay = true;
  in.origin_trust = trust;
  return in;
}

TEST(MemberTrustRule, ATrustedOriginIsLeftToThePolicy) {
  PolicySet set = ShareAll();
  EXPECT_EQ(DecideShare(set, Created(kNow - 10), "KZ", Relay({})).action,
            Action::kShare);
  EXPECT_FALSE(MemberTrustRule(Created(kNow), {}).has_value());
}

TEST(MemberTrustRule, ARemovedMembersRecordNeverLeaves) {
  PolicySet set = ShareAll();
  OriginTrust removed;
  removed.departed = true;
  auto d = DecideShare(set, Created(kNow - 10), "KZ", Relay(removed));
  EXPECT_EQ(d.action, Action::kWithhold);
  EXPECT_EQ(d.rule.key, kRuleRemovedMember);
  EXPECT_NE(d.rule.reason.find("removed from the roster"), std::string::npos);
  // Not even to a holder of an earlier revision.
  ShareInputs holder = Relay(removed);
  holder.held = HeldRevision{1, 0, false, std::nullopt};
  auto later = Created(kNow - 5);
  later.revision = 2;
  EXPECT_EQ(DecideShare(set, later, "KZ", holder).rule.key,
            kRuleRemovedMember);
}

TEST(MemberTrustRule, ACompromisedKeyHoldsBackOnlyRecordsSinceItsTime) {
  PolicySet set = ShareAll();
  OriginTrust compromised;
  compromised.compromised_since = kNow - 100;
  EXPECT_EQ(DecideShare(set, Created(kNow - 101), "KZ", Relay(compromised))
                .action,
            Action::kShare);
  auto at = DecideShare(set, Created(kNow - 100), "KZ", Relay(compromised));
  EXPECT_EQ(at.action, Action::kWithhold);
  EXPECT_EQ(at.rule.key, kRuleCompromisedKey);
  EXPECT_EQ(DecideShare(set, Created(kNow), "KZ", Relay(compromised)).rule.key,
            kRuleCompromisedKey);
}

// A retired key declared compromised (key compromised --since): what was
// created from its rotation on is its successor's and leaves.
TEST(MemberTrustRule, ARetiredCompromisedKeyHoldsBackOnlyUntilItsRotation) {
  PolicySet set = ShareAll();
  OriginTrust retired;
  retired.compromised_since = kNow - 100;
  retired.compromised_until = kNow - 10;
  EXPECT_EQ(DecideShare(set, Created(kNow - 101), "KZ", Relay(retired)).action, Action::kShare);
  EXPECT_EQ(DecideShare(set, Created(kNow - 11), "KZ", Relay(retired)).rule.key,
            kRuleCompromisedKey);
  EXPECT_EQ(DecideShare(set, Created(kNow - 10), "KZ", Relay(retired)).action, Action::kShare);
}

TEST(MemberTrustRule, CompromiseIsNamedBeforeRemoval) {
  OriginTrust both;
  both.departed = true;
  both.compromised_since = kNow - 100;
  EXPECT_EQ(MemberTrustRule(Created(kNow), both)->key, kRuleCompromisedKey);
  EXPECT_EQ(MemberTrustRule(Created(kNow - 200), both)->key,
            kRuleRemovedMember);
}

}  // namespace
}  // namespace caravan::policy
