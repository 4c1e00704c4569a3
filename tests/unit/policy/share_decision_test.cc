// policy::DecideShare: the one outbound decision over the current revision
// and what the peer holds (issue 13 findings 1-3 and 7 at the unit level).

#include "daemon/policy/share_decision.h"

#include <gtest/gtest.h>

#include "tests/unit/policy/policy_test_util.h"

namespace caravan::policy {
namespace {

using protocol::IndicatorType;
using protocol::Reshare;
using protocol::Tlp;
using testing::MustLoad;
using testing::Record;
using Action = ShareDecision::Action;

constexpr int64_t kNow = 1'700'100'000;

PolicySet Kz(const std::string& outbound) {
  return MustLoad({{"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\n" + outbound},
                   {"protected.toml", "cidrs = [\"195.158.0.0/16\"]\n"}});
}

ShareInputs Holding(uint32_t revision, bool relay = false) {
  ShareInputs in;
  in.now = kNow;
  in.is_relay = relay;
  in.held = HeldRevision{revision, 0, false, std::nullopt};
  return in;
}

protocol::RecordBody Rev(uint32_t revision, Tlp tlp) {
  auto r = Record(IndicatorType::kDomain, "sup.example", tlp);
  r.revision = revision;
  return r;
}

TEST(ShareDecision, FirstSendFollowsTheScope) {
  PolicySet set = Kz("share = true\nmax_tlp = \"amber\"\n");
  ShareInputs in;
  in.now = kNow;
  EXPECT_EQ(DecideShare(set, Rev(1, Tlp::kGreen), "KZ", in).action,
            Action::kShare);
  auto d = DecideShare(set, Rev(1, Tlp::kAmberStrict), "KZ", in);
  EXPECT_EQ(d.action, Action::kWithhold);
  EXPECT_EQ(d.rule.key, "outbound.max_tlp");
}

TEST(ShareDecision, APeerHoldingThisRevisionOrLaterIsSkipped) {
  PolicySet set = Kz("share = true\n");
  auto d = DecideShare(set, Rev(2, Tlp::kGreen), "KZ", Holding(2));
  EXPECT_EQ(d.action, Action::kSkip);
  EXPECT_EQ(d.rule.key, "delivered");
  EXPECT_EQ(DecideShare(set, Rev(2, Tlp::kGreen), "KZ", Holding(3)).action,
            Action::kSkip);
}

// Finding 3: RaisesSensitivity looked at the first failing rule only, so
// share = false let an amber+strict update through to a holder.
TEST(ShareDecision, UpdateUnderShareFalseIsWithdrawnNotSent) {
  PolicySet set = Kz("share = false\nmax_tlp = \"amber\"\n");
  auto d = DecideShare(set, Rev(2, Tlp::kAmberStrict), "KZ", Holding(1));
  EXPECT_EQ(d.action, Action::kWithdraw);
  EXPECT_EQ(d.rule.key, "outbound.share");
  EXPECT_EQ(d.rule.file, "kz.toml");
  // The same update that the scope allows is an ordinary share.
  PolicySet open = Kz("share = true\nmax_tlp = \"amber+strict\"\n");
  EXPECT_EQ(DecideShare(open, Rev(2, Tlp::kAmberStrict), "KZ", Holding(1)).action,
            Action::kShare);
}

TEST(ShareDecision, EveryHardOrSoftRuleWithdrawsFromAHolder) {
  PolicySet set = Kz("share = true\nmax_tlp = \"amber\"\nexclude_tags = "
                     "[\"internal\"]\nmin_confidence = 50\n");
  auto red = DecideShare(set, Rev(2, Tlp::kRed), "KZ", Holding(1));
  EXPECT_EQ(red.action, Action::kWithdraw);
  EXPECT_EQ(red.rule.key, "tlp_red");
  auto tagged = Rev(2, Tlp::kGreen);
  tagged.indicator.tags = {"internal"};
  EXPECT_EQ(DecideShare(set, tagged, "KZ", Holding(1)).rule.key,
            "outbound.exclude_tags");
  auto low = Rev(2, Tlp::kGreen);
  low.indicator.confidence = 10;
  auto d = DecideShare(set, low, "KZ", Holding(1));
  EXPECT_EQ(d.action, Action::kWithdraw);
  EXPECT_EQ(d.rule.key, "outbound.min_confidence");
}

TEST(ShareDecision, ARelayNeverWithdrawsItWithholds) {
  PolicySet set = Kz("share = false\n");
  auto d = DecideShare(set, Rev(2, Tlp::kGreen), "KZ", Holding(1, true));
  EXPECT_EQ(d.action, Action::kWithhold);
  EXPECT_NE(d.rule.reason.find("only the origin can withdraw"),
            std::string::npos)
      << d.rule.reason;
}

TEST(ShareDecision, APeerHoldingAWithdrawalGetsNothingMoreUntilItMaySee) {
  PolicySet set = Kz("share = false\n");
  ShareInputs in = Holding(2);
  in.held->withdrawn = true;
  EXPECT_EQ(DecideShare(set, Rev(3, Tlp::kGreen), "KZ", in).action,
            Action::kSkip);
  PolicySet open = Kz("share = true\n");
  EXPECT_EQ(DecideShare(open, Rev(3, Tlp::kGreen), "KZ", in).action,
            Action::kShare);
}

TEST(ShareDecision, RevocationsReachHoldersOnlyAndAreRedacted) {
  PolicySet set = Kz("share = true\nredact = [\"description\"]\n");
  auto revoked = Rev(2, Tlp::kGreen);
  revoked.indicator.revoked = true;
  revoked.indicator.description = "why";
  auto held = DecideShare(set, revoked, "KZ", Holding(1));
  EXPECT_EQ(held.action, Action::kShare);
  EXPECT_EQ(held.rule.key, "revocation");
  EXPECT_EQ(held.redact, std::vector<std::string>{"description"});
  ShareInputs none;
  none.now = kNow;
  EXPECT_EQ(DecideShare(set, revoked, "KZ", none).action, Action::kWithhold);
  // A relay cannot redact: the revocation carrying a redacted field stays,
  // even when it tells the holder nothing new.
  ShareInputs holder = Holding(1, true);
  holder.held->content = revoked.indicator;
  holder.held->content->revoked = false;
  auto relayed = DecideShare(set, revoked, "KZ", holder);
  EXPECT_EQ(relayed.action, Action::kWithhold);
  EXPECT_EQ(relayed.rule.key, "outbound.redact");
}

// Found by the federation property test: a revocation made after the value
// went red carries TLP:RED and the red revision's fields; a holder of the
// green revision must get a withdrawal, never that content.
TEST(ShareDecision, ARevocationCarryingWithheldContentBecomesAWithdrawal) {
  PolicySet set = Kz("share = true\nmax_tlp = \"amber\"\n");
  auto revoked = Rev(3, Tlp::kRed);
  revoked.indicator.revoked = true;
  auto d = DecideShare(set, revoked, "KZ", Holding(1));
  EXPECT_EQ(d.action, Action::kWithdraw);
  EXPECT_EQ(d.rule.key, "tlp_red");
  // Already withdrawn: nothing more to send.
  ShareInputs withdrawn = Holding(2);
  withdrawn.held->withdrawn = true;
  EXPECT_EQ(DecideShare(set, revoked, "KZ", withdrawn).action, Action::kSkip);
  // A relay cannot withdraw: it keeps the revocation home.
  EXPECT_EQ(DecideShare(set, revoked, "KZ", Holding(1, true)).action,
            Action::kWithhold);
}

// Found by scripts/fedprop (seed 406446285): the origin withdrew its rev 7
// (confidence 95, reshare direct) from a relay; the relay forwarded that
// withdrawal under "revocation" to a peer it had given rev 6 (confidence
// 10), which learned confidence 95. A relayed revocation that carries
// content the holder never had goes only as a relayed record would.
TEST(ShareDecision, ARelayedRevocationTellsAHolderNothingNewOrGoesAsARelay) {
  PolicySet set = Kz("share = true\nreshare = \"federation\"\n");
  auto held = Rev(6, Tlp::kGreen);
  held.indicator.confidence = 10;
  auto withdrawal = Rev(8, Tlp::kGreen);
  withdrawal.indicator.confidence = 95;
  withdrawal.indicator.reshare = Reshare::kDirect;
  withdrawal.indicator.revoked = true;

  ShareInputs in = Holding(6, /*relay=*/true);
  in.held->content = held.indicator;
  auto d = DecideShare(set, withdrawal, "KZ", in);
  EXPECT_EQ(d.action, Action::kWithhold);
  EXPECT_EQ(d.rule.key, "record.reshare");
  EXPECT_NE(d.rule.reason.find("content the peer never held"), std::string::npos)
      << d.rule.reason;
  // Unknown content (the held record is no longer stored) is judged as new.
  EXPECT_EQ(DecideShare(set, withdrawal, "KZ", Holding(6, true)).rule.key,
            "record.reshare");

  // The same content, revoked (and its reshare lowered): nothing new, so it
  // reaches the holder whatever its reshare.
  auto same = held;
  same.revision = 8;
  same.indicator.reshare = Reshare::kDirect;
  same.indicator.revoked = true;
  same.indicator.revoke_reason = "false positive";
  d = DecideShare(set, same, "KZ", in);
  EXPECT_EQ(d.action, Action::kShare);
  EXPECT_EQ(d.rule.key, "revocation");
  EXPECT_EQ(d.reshare_ceiling, Reshare::kDirect);

  // New content the relay rules allow (federation both ways) goes.
  withdrawal.indicator.reshare = Reshare::kFederation;
  EXPECT_EQ(DecideShare(set, withdrawal, "KZ", in).action, Action::kShare);
  // ... and a scope below federation keeps it home.
  PolicySet direct = Kz("share = true\nreshare = \"direct\"\n");
  d = DecideShare(direct, withdrawal, "KZ", in);
  EXPECT_EQ(d.action, Action::kWithhold);
  EXPECT_EQ(d.rule.key, "outbound.reshare");
}

TEST(ShareDecision, RevealsNothingNewIgnoresOnlyRevocationAndReshare) {
  auto a = Rev(1, Tlp::kGreen).indicator;
  auto b = a;
  b.revoked = true;
  b.revoke_reason = "gone";
  b.reshare = Reshare::kNone;
  EXPECT_TRUE(RevealsNothingNew(a, b));
  for (auto change : std::vector<void (*)(protocol::Indicator&)>{
           [](protocol::Indicator& i) { i.confidence = 1; },
           [](protocol::Indicator& i) { i.tlp = Tlp::kAmber; },
           [](protocol::Indicator& i) { i.tags = {"apt"}; },
           [](protocol::Indicator& i) { i.description = "more"; },
           [](protocol::Indicator& i) { i.first_seen = 5; },
           [](protocol::Indicator& i) { i.last_seen = 5; },
           [](protocol::Indicator& i) { i.valid_until = 5; },
           [](protocol::Indicator& i) { i.value = "other.example"; }}) {
    auto c = b;
    change(c);
    EXPECT_FALSE(RevealsNothingNew(a, c));
  }
}

TEST(ShareDecision, ProtectedWinsOverHolding) {
  PolicySet set = Kz("share = true\n");
  auto r = Record(IndicatorType::kIpv4, "195.158.1.2");
  r.revision = 2;
  auto d = DecideShare(set, r, "KZ", Holding(1));
  EXPECT_EQ(d.action, Action::kWithdraw);
  EXPECT_EQ(d.rule.file, "protected.toml");
}

TEST(ShareDecision, QuotaAndEmbargoDeferEvenForHolders) {
  PolicySet set = Kz("share = true\nmax_per_day = 5\n");
  ShareInputs in = Holding(1);
  in.sent_today_to_country = 5;
  auto d = DecideShare(set, Rev(2, Tlp::kGreen), "KZ", in);
  EXPECT_EQ(d.action, Action::kDefer);
  EXPECT_EQ(d.rule.key, "outbound.max_per_day");
  EXPECT_GT(d.retry_at, kNow);
}

TEST(ShareDecision, WarninglistStopsFirstSendsNotHolders) {
  PolicySet set = Kz("share = true\n");
  ShareInputs in;
  in.now = kNow;
  in.warninglist = WarninglistFlag{"alexa-top", "google.com"};
  auto d = DecideShare(set, Rev(1, Tlp::kGreen), "KZ", in);
  EXPECT_EQ(d.action, Action::kWithhold);
  EXPECT_EQ(d.rule.key, "warninglist:alexa-top");
  EXPECT_TRUE(d.rule.file.empty());
  in.held = HeldRevision{1, 0, false, std::nullopt};
  EXPECT_EQ(DecideShare(set, Rev(2, Tlp::kGreen), "KZ", in).action,
            Action::kShare);
}

}  // namespace
}  // namespace caravan::policy
