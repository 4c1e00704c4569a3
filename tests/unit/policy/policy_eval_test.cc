// Outbound and inbound decisions: each rule, its boundaries, the order of
// the checks and the rule each decision names.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_explain.h"
#include "daemon/policy/protected_match.h"
#include "tests/unit/policy/policy_test_util.h"

namespace caravan::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using protocol::IndicatorType;
using protocol::RecordBody;
using protocol::Reshare;
using protocol::Tlp;
using testing::MustLoad;
using testing::Record;
using Verdict = OutboundDecision::Verdict;
using InVerdict = InboundDecision::Verdict;

constexpr int64_t kNow = 1'700'000'000 + 86400;  // a day after Record()'s creation

OutboundDecision Out(const PolicySet& set, const RecordBody& r,
                     std::string_view cc = "KZ", OutboundContext ctx = {}) {
  if (ctx.now == 0) ctx.now = kNow;
  return EvaluateOutbound(set, r, cc, ctx);
}

// A KZ file that shares everything it can, plus protected assets.
PolicySet OpenKz(const std::string& outbound_extra = "") {
  return MustLoad({
      {"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                  "max_tlp = \"amber+strict\"\nreshare = \"federation\"\n" +
                      outbound_extra},
      {"protected.toml",
       "cidrs = [\"195.158.0.0/16\", \"2001:db8:10::/48\"]\n"
       "domain_suffixes = [\"gov.uz\"]\nasns = [8193]\n"},
  });
}

TEST(PolicyEval, DefaultDenyNamesTheRule) {
  PolicySet set = MustLoad({{"default.toml", "[inbound]\naccept = true\n"}});
  auto d = Out(set, Record(IndicatorType::kDomain, "evil.example"), "FR");
  EXPECT_EQ(d.verdict, Verdict::kWithhold);
  EXPECT_EQ(d.rule.file, "default.toml");
  EXPECT_EQ(d.rule.key, "outbound.share");
  EXPECT_EQ(d.rule.line, 0);
  EXPECT_THAT(d.rule.reason, HasSubstr("default deny"));
  EXPECT_EQ(d.scope_file, "default.toml");
}

TEST(PolicyEval, TlpBoundaries) {
  PolicySet set = MustLoad({{"kz.toml",
                             "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                             "max_tlp = \"amber\"\n"}});
  for (Tlp t : {Tlp::kClear, Tlp::kGreen, Tlp::kAmber}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kDomain, "a.example", t)).verdict,
              Verdict::kShare)
        << protocol::TlpName(t);
  }
  auto strict = Out(set, Record(IndicatorType::kDomain, "a.example", Tlp::kAmberStrict));
  EXPECT_EQ(strict.verdict, Verdict::kWithhold);
  EXPECT_EQ(strict.rule.key, "outbound.max_tlp");
  EXPECT_EQ(strict.rule.line, 4);
  EXPECT_EQ(strict.rule.reason, "TLP amber+strict is above max_tlp amber");
}

TEST(PolicyEval, RedNeverLeavesEvenWithTheHighestCeiling) {
  PolicySet set = OpenKz();
  auto d = Out(set, Record(IndicatorType::kDomain, "a.example", Tlp::kRed));
  EXPECT_EQ(d.verdict, Verdict::kWithhold);
  EXPECT_EQ(d.rule.key, "tlp_red");
  EXPECT_EQ(d.rule.file, "");
  EXPECT_EQ(Out(set, Record(IndicatorType::kDomain, "a.example", Tlp::kAmberStrict))
                .verdict,
            Verdict::kShare);
}

TEST(PolicyEval, ProtectedNetworksOverlapBothWays) {
  PolicySet set = OpenKz();
  for (const std::string v : {"195.158.1.2", "195.158.0.0/24", "195.0.0.0/8",
                              "195.158.0.0/16", "0.0.0.0/0"}) {
    auto d = Out(set, Record(IndicatorType::kIpv4, v));
    EXPECT_EQ(d.verdict, Verdict::kWithhold) << v;
    EXPECT_EQ(d.rule.file, "protected.toml") << v;
    EXPECT_EQ(d.rule.key, "cidrs") << v;
    EXPECT_EQ(d.rule.line, 1) << v;
  }
  EXPECT_THAT(Out(set, Record(IndicatorType::kIpv4, "195.158.1.2")).rule.reason,
              HasSubstr("is inside protected network 195.158.0.0/16"));
  EXPECT_THAT(Out(set, Record(IndicatorType::kIpv4, "195.0.0.0/8")).rule.reason,
              HasSubstr("contains protected network 195.158.0.0/16"));
  for (const std::string v : {"195.159.0.1", "195.157.255.255", "10.0.0.0/8"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kIpv4, v)).verdict, Verdict::kShare) << v;
  }
}

TEST(PolicyEval, ProtectedNetworkIndexAgreesWithAScan) {
  // Nested, adjacent and disjoint blocks of both families; every address
  // around their edges gets the same answer from the index as from a scan.
  const std::vector<std::string> nets = {
      "10.0.0.0/8",   "10.1.0.0/16",  "10.2.3.0/24", "11.0.0.0/24",
      "11.0.1.0/24",  "11.0.3.7",     "0.0.0.0/32",  "255.255.255.255",
      "2001:db8::/32", "2001:db8:1::/48", "::/128",  "ffff::/16"};
  ProtectedAssets indexed;
  for (const auto& n : nets) {
    indexed.cidrs.push_back({*protocol::ParseIpNetwork(n), 1});
  }
  ProtectedAssets scanned = indexed;  // no cidr_ranges: falls back to a scan
  IndexProtectedNetworks(indexed);
  EXPECT_EQ(indexed.cidr_ranges.size(), 9u);  // 10/8 absorbs its two children
  std::vector<std::string> probes = {
      "9.255.255.255", "10.0.0.0",  "11.255.255.255", "11.0.0.255", "11.0.2.0",
      "11.0.3.6",      "11.0.3.7",  "11.0.3.8",       "11.0.0.0/16", "0.0.0.1",
      "0.0.0.0",       "12.0.0.0/6", "255.255.255.254", "2001:db7:ffff::/48",
      "2001:db9::",    "::1",        "::",              "fffe::/15", "8000::/1"};
  for (const auto& p : probes) {
    protocol::Indicator ind;
    auto net = protocol::ParseIpNetwork(p);
    ASSERT_TRUE(net.has_value()) << p;
    ind.type = net->is_v6 ? IndicatorType::kIpv6 : IndicatorType::kIpv4;
    ind.value = p;
    EXPECT_EQ(MatchProtected(indexed, ind).has_value(),
              MatchProtected(scanned, ind).has_value())
        << p;
  }
  protocol::Indicator in_gap;
  in_gap.type = IndicatorType::kIpv4;
  in_gap.value = "11.0.2.0";
  EXPECT_FALSE(MatchProtected(indexed, in_gap).has_value());
  in_gap.value = "11.0.0.0/16";  // spans the two /24s and the host
  EXPECT_TRUE(MatchProtected(indexed, in_gap).has_value());
}

TEST(PolicyEval, ProtectedIpv6) {
  PolicySet set = OpenKz();
  for (const std::string v : {"2001:db8:10::1", "2001:db8:10:ff::/64",
                              "2001:db8::/32", "::/0"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kIpv6, v)).rule.key, "cidrs") << v;
  }
  for (const std::string v : {"2001:db8:11::1", "2001:db9::/32"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kIpv6, v)).verdict, Verdict::kShare) << v;
  }
}

TEST(PolicyEval, ProtectedDomainsMatchOnLabelBoundaries) {
  PolicySet set = OpenKz();
  for (const std::string v : {"gov.uz", "a.gov.uz", "x.y.gov.uz"}) {
    auto d = Out(set, Record(IndicatorType::kDomain, v));
    EXPECT_EQ(d.rule.key, "domain_suffixes") << v;
    EXPECT_EQ(d.rule.line, 2) << v;
  }
  for (const std::string v : {"evilgov.uz", "gov.uz.evil.example", "ov.uz"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kDomain, v)).verdict, Verdict::kShare) << v;
  }
}

TEST(PolicyEval, ProtectedParentDomainIsWithheld) {
  PolicySet set = MustLoad({
      {"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"},
      {"protected.toml", "domain_suffixes = [\"mail.gov.uz\"]\n"}});
  auto d = Out(set, Record(IndicatorType::kDomain, "gov.uz"));
  EXPECT_EQ(d.rule.key, "domain_suffixes");
  EXPECT_THAT(d.rule.reason, HasSubstr("covers protected domain mail.gov.uz"));
  EXPECT_EQ(Out(set, Record(IndicatorType::kDomain, "web.gov.uz")).verdict,
            Verdict::kShare);
}

TEST(PolicyEval, UrlsAndEmailsByTheirHost) {
  PolicySet set = OpenKz();
  for (const std::string v :
       {"http://gov.uz/", "https://a.gov.uz:8443/login?x=1",
        "http://user:pw@portal.gov.uz/x", "http://195.158.3.4/payload",
        "http://[2001:db8:10::5]:80/a", "ftp://mail.gov.uz.", "http://a.gov.uz#frag"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kUrl, v)).verdict, Verdict::kWithhold) << v;
  }
  for (const std::string v :
       {"http://evilgov.uz/", "http://example.com/gov.uz", "http://195.159.0.1/",
        "http://x.example/?u=a@gov.uz", "http://gov.uz.example/"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kUrl, v)).verdict, Verdict::kShare) << v;
  }
  for (const std::string v : {"minister@gov.uz", "a@mail.gov.uz", "x@[195.158.0.1]"}) {
    EXPECT_EQ(Out(set, Record(IndicatorType::kEmail, v)).verdict, Verdict::kWithhold) << v;
  }
  EXPECT_EQ(Out(set, Record(IndicatorType::kEmail, "gov.uz@evil.example")).verdict,
            Verdict::kShare);
  EXPECT_EQ(UrlHost("https://u@[2001:DB8::1]:8443/x"), "2001:db8::1");
  EXPECT_EQ(UrlHost("http://A.Example./"), "a.example");
  EXPECT_EQ(EmailHost("a@b@Mail.Example"), "mail.example");
  EXPECT_EQ(EmailHost("nobody"), "");
}

TEST(PolicyEval, ProtectedAsns) {
  PolicySet set = OpenKz();
  auto d = Out(set, Record(IndicatorType::kAsn, "AS8193"));
  EXPECT_EQ(d.rule.key, "asns");
  EXPECT_EQ(d.rule.line, 3);
  EXPECT_EQ(Out(set, Record(IndicatorType::kAsn, "AS81930")).verdict, Verdict::kShare);
  EXPECT_EQ(Out(set, Record(IndicatorType::kAsn, "AS819")).verdict, Verdict::kShare);
}

TEST(PolicyEval, ProtectedAssetsWinOverEverything) {
  // Even a revocation is not a way out for a protected value to a non-holder,
  // and TLP:CLEAR does not matter.
  PolicySet set = OpenKz();
  auto r = Record(IndicatorType::kIpv4, "195.158.9.9", Tlp::kClear);
  EXPECT_EQ(Out(set, r).rule.key, "cidrs");
  r.indicator.revoked = true;
  EXPECT_EQ(Out(set, r).rule.key, "revocation");
  EXPECT_EQ(Out(set, r).verdict, Verdict::kWithhold);
}

TEST(PolicyEval, RevocationReachesHoldersWhenItsContentMayGo) {
  PolicySet set = MustLoad({{"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\n"
                                        "share = true\nmax_tlp = \"amber\"\n"
                                        "embargo = \"30d\"\nmax_per_day = 1\n"}});
  auto r = Record(IndicatorType::kDomain, "a.example", Tlp::kGreen);
  r.indicator.revoked = true;
  r.indicator.reshare = Reshare::kDirect;
  OutboundContext ctx;
  ctx.now = r.created;
  ctx.sent_today_to_country = 1;
  ctx.recipient_holds_indicator = true;
  // Neither the embargo nor a used-up quota holds a retraction back.
  auto d = Out(set, r, "KZ", ctx);
  EXPECT_EQ(d.verdict, Verdict::kShare);
  EXPECT_EQ(d.rule.key, "revocation");
  // Lowered to the scope's ceiling like any send (default reshare: none).
  EXPECT_EQ(d.reshare_ceiling, Reshare::kNone);
  ctx.recipient_holds_indicator = false;
  EXPECT_EQ(Out(set, r, "KZ", ctx).verdict, Verdict::kWithhold);
  // It carries the content of the revision it retracts: a red revocation
  // is withheld even from a holder (DecideShare turns that into a
  // withdrawal), and so is one under share = false.
  ctx.recipient_holds_indicator = true;
  r.indicator.tlp = Tlp::kRed;
  EXPECT_EQ(Out(set, r, "KZ", ctx).rule.key, "tlp_red");
  r.indicator.tlp = Tlp::kGreen;
  EXPECT_EQ(Out(set, r, "FR", ctx).rule.key, "outbound.share");
}

TEST(PolicyEval, TypesConfidenceAndTags) {
  PolicySet set = OpenKz(
      "types = [\"domain\", \"url\"]\nmin_confidence = 60\n"
      "exclude_tags = [\"internal\"]\nrequire_tags = [\"ca-track\", \"vetted\"]\n");
  auto r = Record(IndicatorType::kDomain, "a.example");
  r.indicator.tags = {"CA-Track", "vetted"};
  r.indicator.confidence = 60;
  EXPECT_EQ(Out(set, r).verdict, Verdict::kShare);

  auto hash = r;
  hash.indicator.type = IndicatorType::kSha256;
  hash.indicator.value = std::string(64, 'a');
  EXPECT_EQ(Out(set, hash).rule.key, "outbound.types");

  auto low = r;
  low.indicator.confidence = 59;
  EXPECT_EQ(Out(set, low).rule.key, "outbound.min_confidence");
  EXPECT_EQ(Out(set, low).rule.reason, "confidence 59 is below min_confidence 60");

  auto internal = r;
  internal.indicator.tags.push_back("Internal");
  EXPECT_EQ(Out(set, internal).rule.key, "outbound.exclude_tags");

  auto one_missing = r;
  one_missing.indicator.tags = {"ca-track"};
  auto d = Out(set, one_missing);
  EXPECT_EQ(d.rule.key, "outbound.require_tags");
  EXPECT_EQ(d.rule.reason, "required tag 'vetted' is missing");
}

TEST(PolicyEval, RedactListAndReshareCeiling) {
  PolicySet set = MustLoad({{"kz.toml",
                             "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                             "redact = [\"tags\", \"description\"]\nreshare = \"direct\"\n"}});
  auto r = Record(IndicatorType::kDomain, "a.example");
  r.indicator.reshare = Reshare::kFederation;
  auto d = Out(set, r);
  EXPECT_EQ(d.verdict, Verdict::kShare);
  EXPECT_THAT(d.redact, ElementsAre("description", "tags"));
  EXPECT_EQ(d.reshare_ceiling, Reshare::kDirect);
  r.indicator.reshare = Reshare::kNone;
  EXPECT_EQ(Out(set, r).reshare_ceiling, Reshare::kNone);
}

TEST(PolicyEval, RelayNeedsFederationReshareAndNoChanges) {
  PolicySet set = OpenKz();
  OutboundContext relay;
  relay.is_relay = true;
  auto r = Record(IndicatorType::kDomain, "a.example");
  r.indicator.reshare = Reshare::kFederation;
  EXPECT_EQ(Out(set, r, "KZ", relay).verdict, Verdict::kShare);
  for (Reshare low : {Reshare::kNone, Reshare::kDirect}) {
    r.indicator.reshare = low;
    auto d = Out(set, r, "KZ", relay);
    EXPECT_EQ(d.verdict, Verdict::kWithhold);
    EXPECT_EQ(d.rule.key, "record.reshare");
    EXPECT_EQ(d.rule.file, "");
    // Our own record with the same reshare goes out.
    EXPECT_EQ(Out(set, r).verdict, Verdict::kShare);
  }
  r.indicator.reshare = Reshare::kFederation;
  PolicySet direct = MustLoad({{"kz.toml",
                                "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                                "reshare = \"direct\"\n"}});
  EXPECT_EQ(Out(direct, r, "KZ", relay).rule.key, "outbound.reshare");
  PolicySet redacting = OpenKz("redact = [\"description\"]\n");
  EXPECT_EQ(Out(redacting, r, "KZ", relay).verdict, Verdict::kShare);  // nothing to redact
  EXPECT_TRUE(Out(redacting, r, "KZ", relay).redact.empty());
  r.indicator.description = "seen in phishing";
  EXPECT_EQ(Out(redacting, r, "KZ", relay).rule.key, "outbound.redact");
}

TEST(PolicyEval, EmbargoBoundary) {
  PolicySet set = OpenKz("embargo = \"2h\"\n");
  auto r = Record(IndicatorType::kDomain, "a.example");
  OutboundContext ctx;
  ctx.now = r.created + 7199;
  auto d = Out(set, r, "KZ", ctx);
  EXPECT_EQ(d.verdict, Verdict::kDefer);
  EXPECT_EQ(d.retry_at, r.created + 7200);
  EXPECT_EQ(d.rule.key, "outbound.embargo");
  ctx.now = r.created + 7200;  // exactly at created + embargo: shares
  EXPECT_EQ(Out(set, r, "KZ", ctx).verdict, Verdict::kShare);
  // Withholding rules come before the embargo.
  r.indicator.tlp = Tlp::kRed;
  ctx.now = r.created;
  EXPECT_EQ(Out(set, r, "KZ", ctx).verdict, Verdict::kWithhold);
}

TEST(PolicyEval, QuotaDefersToTheNextUtcMidnight) {
  PolicySet set = OpenKz("max_per_day = 3\n");
  auto r = Record(IndicatorType::kDomain, "a.example");
  OutboundContext ctx;
  ctx.now = 1'700'006'400 - 1;  // 2023-11-14T23:59:59Z
  ctx.sent_today_to_country = 2;
  EXPECT_EQ(Out(set, r, "KZ", ctx).verdict, Verdict::kShare);
  ctx.sent_today_to_country = 3;
  auto d = Out(set, r, "KZ", ctx);
  EXPECT_EQ(d.verdict, Verdict::kDefer);
  EXPECT_EQ(d.rule.key, "outbound.max_per_day");
  EXPECT_EQ(d.retry_at, 1'700'006'400);
  EXPECT_EQ(FormatRfc3339(d.retry_at), "2023-11-15T00:00:00Z");
  // After midnight the caller's count starts again at 0.
  ctx.now = d.retry_at;
  ctx.sent_today_to_country = 0;
  EXPECT_EQ(Out(set, r, "KZ", ctx).verdict, Verdict::kShare);
}

TEST(PolicyEval, UtcDays) {
  EXPECT_EQ(UtcDayIndex(0), 0);
  EXPECT_EQ(UtcDayIndex(86399), 0);
  EXPECT_EQ(UtcDayIndex(86400), 1);
  EXPECT_EQ(UtcDayIndex(-1), -1);
  EXPECT_EQ(UtcDayIndex(-86400), -1);
  EXPECT_EQ(UtcDayIndex(-86401), -2);
  EXPECT_EQ(NextUtcMidnight(0), 86400);
  EXPECT_EQ(NextUtcMidnight(86399), 86400);
  EXPECT_EQ(NextUtcMidnight(86400), 172800);
  EXPECT_EQ(NextUtcMidnight(-1), 0);
}

constexpr char kGroups[] = "[groups]\ncentral-asia = [\"KZ\", \"KG\", \"UZ\"]\n";

TEST(PolicyEval, PrecedenceCountryOverGroupOverDefault) {
  PolicySet set = MustLoad({
      {"default.toml", "[outbound]\nshare = false\n[inbound]\naccept = false\n"},
      {"groups.toml", kGroups},
      {"ca.toml", "applies_to = [\"central-asia\"]\n[outbound]\nshare = true\n"
                  "max_tlp = \"green\"\n[inbound]\naccept = true\n"},
      {"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                  "max_tlp = \"amber\"\n"},
  });
  auto amber = Record(IndicatorType::kDomain, "a.example", Tlp::kAmber);
  auto kz = Out(set, amber, "KZ");
  EXPECT_EQ(kz.verdict, Verdict::kShare);
  EXPECT_EQ(kz.scope_file, "kz.toml");
  auto uz = Out(set, amber, "UZ");
  EXPECT_EQ(uz.verdict, Verdict::kWithhold);
  EXPECT_EQ(uz.rule.file, "ca.toml");
  EXPECT_EQ(uz.rule.key, "outbound.max_tlp");
  auto fr = Out(set, amber, "FR");
  EXPECT_EQ(fr.rule.file, "default.toml");
  EXPECT_EQ(fr.rule.key, "outbound.share");
  EXPECT_EQ(fr.rule.line, 2);

  ResolvedScope s = ScopeFor(set, "KZ");
  EXPECT_EQ(s.outbound_file->name, "kz.toml");
  EXPECT_EQ(s.outbound_via, "country KZ");
  // kz.toml has no [inbound]: that direction falls through to the group.
  EXPECT_EQ(s.inbound_file->name, "ca.toml");
  EXPECT_EQ(s.inbound_via, "group central-asia");
  EXPECT_EQ(ScopeFor(set, "KG").outbound_via, "group central-asia");
  EXPECT_EQ(ScopeFor(set, "FR").outbound_via, "default");
  EXPECT_EQ(ScopeFor(set, "not a country").outbound_file->name, "default.toml");

  RecordBody r = Record(IndicatorType::kDomain, "a.example");
  EXPECT_EQ(EvaluateInbound(set, r, "KZ", {kNow, false, false}).verdict,
            InVerdict::kAccept);
  EXPECT_EQ(EvaluateInbound(set, r, "FR", {kNow, false, false}).verdict,
            InVerdict::kReject);
}

TEST(PolicyEval, InboundRules) {
  PolicySet set = MustLoad({{"kz.toml",
                             "applies_to = [\"KZ\"]\n[inbound]\naccept = true\n"
                             "max_tlp = \"amber\"\ntypes = [\"ipv4\", \"domain\"]\n"
                             "min_confidence = 30\nretention = \"180d\"\n"
                             "accept_relayed = false\n"},
                            {"tj.toml",
                             "applies_to = [\"TJ\"]\n[inbound]\nquarantine = true\n"},
                            {"fr.toml",
                             "applies_to = [\"FR\"]\n[inbound]\naccept = false\n"}});
  auto r = Record(IndicatorType::kDomain, "a.example", Tlp::kAmber);
  r.indicator.confidence = 30;
  InboundContext ctx{kNow, false, false};
  auto d = EvaluateInbound(set, r, "KZ", ctx);
  EXPECT_EQ(d.verdict, InVerdict::kAccept);
  EXPECT_EQ(d.expires_at, kNow + 180 * 86400);
  EXPECT_EQ(d.scope_file, "kz.toml");

  auto reject_key = [&](RecordBody rec, std::string_view cc, InboundContext c) {
    auto x = EvaluateInbound(set, rec, cc, c);
    EXPECT_EQ(x.verdict, InVerdict::kReject);
    return x.rule.key;
  };
  auto strict = r;
  strict.indicator.tlp = Tlp::kAmberStrict;
  EXPECT_EQ(reject_key(strict, "KZ", ctx), "inbound.max_tlp");
  auto url = r;
  url.indicator.type = IndicatorType::kUrl;
  EXPECT_EQ(reject_key(url, "KZ", ctx), "inbound.types");
  auto low = r;
  low.indicator.confidence = 29;
  EXPECT_EQ(reject_key(low, "KZ", ctx), "inbound.min_confidence");
  EXPECT_EQ(reject_key(r, "KZ", {kNow, true, false}), "inbound.accept_relayed");
  EXPECT_EQ(reject_key(r, "FR", ctx), "inbound.accept");

  auto q = EvaluateInbound(set, r, "TJ", ctx);
  EXPECT_EQ(q.verdict, InVerdict::kQuarantine);
  EXPECT_EQ(q.rule.key, "inbound.quarantine");
  EXPECT_FALSE(q.expires_at.has_value());

  // A revocation of what we hold is accepted even where new records are not.
  auto revoked = r;
  revoked.indicator.revoked = true;
  EXPECT_EQ(EvaluateInbound(set, revoked, "FR", {kNow, false, true}).verdict,
            InVerdict::kAccept);
  EXPECT_EQ(reject_key(revoked, "FR", {kNow, false, false}), "inbound.accept");
  // Red is accepted inbound by default (the sender chose to send it).
  EXPECT_EQ(EvaluateInbound(MustLoad({}), Record(IndicatorType::kDomain, "a.example",
                                                 Tlp::kRed),
                            "KZ", ctx)
                .verdict,
            InVerdict::kAccept);
}

TEST(PolicyEval, ExplainShapes) {
  PolicySet set = OpenKz("embargo = \"1d\"\nredact = [\"description\"]\n");
  auto r = Record(IndicatorType::kDomain, "a.example");
  OutboundContext ctx;
  ctx.now = r.created;
  Explanation e = Explain(Out(set, r, "KZ", ctx));
  EXPECT_EQ(e.decision, "defer");
  EXPECT_EQ(e.rule.file, "kz.toml");
  EXPECT_EQ(e.rule.key, "outbound.embargo");
  EXPECT_EQ(e.rule.line, 6);
  EXPECT_EQ(e.retry_at, r.created + 86400);
  EXPECT_TRUE(e.redact.empty());
  EXPECT_EQ(ExplainText(e),
            "defer\nrule: kz.toml:6 outbound.embargo\n"
            "reason: embargo 1d after creation has not passed\n"
            "scope: kz.toml\nretry at: 2023-11-15T22:13:20Z\n");

  ctx.now = r.created + 86400;
  e = Explain(Out(set, r, "KZ", ctx));
  EXPECT_EQ(e.decision, "share");
  EXPECT_THAT(e.redact, ElementsAre("description"));
  EXPECT_EQ(e.reshare, "federation");
  EXPECT_FALSE(e.retry_at.has_value());

  auto red = r;
  red.indicator.tlp = Tlp::kRed;
  EXPECT_EQ(ExplainText(Out(set, red, "KZ", ctx)),
            "withhold\nrule: built-in tlp_red\n"
            "reason: TLP:RED never leaves automatically\nscope: kz.toml\n");
  EXPECT_THAT(ExplainText(Out(set, r, "FR", ctx)),
              HasSubstr("rule: default.toml:2 outbound.share\n"));
  EXPECT_THAT(ExplainText(Out(MustLoad({{"default.toml", ""}}), r, "FR", ctx)),
              HasSubstr("rule: default.toml outbound.share (not set: default)"));

  InboundDecision in = EvaluateInbound(set, r, "KZ", {kNow, false, false});
  e = Explain(in);
  EXPECT_EQ(e.decision, "accept");
  EXPECT_EQ(VerdictName(InVerdict::kQuarantine), "quarantine");
}

}  // namespace
}  // namespace caravan::policy
