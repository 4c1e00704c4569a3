// Protected national assets under other spellings (issue 13, findings 4 and
// 5): IPv6 forms that embed a protected IPv4 address, protected networks
// written in such a form, and URL hosts read the way browsers read them.
// Every value goes through policy::EvaluateOutbound, as the sender does.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/protected_match.h"
#include "tests/unit/policy/policy_test_util.h"

namespace caravan::policy {
namespace {

using ::testing::HasSubstr;
using protocol::IndicatorType;
using testing::MustLoad;
using testing::Record;
using Verdict = OutboundDecision::Verdict;

constexpr int64_t kNow = 1'700'000'000 + 86400;

// KZ shares everything it can; protected.toml is `protected_toml`.
PolicySet OpenKzWith(const std::string& protected_toml) {
  return MustLoad({
      {"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                  "max_tlp = \"amber+strict\"\nreshare = \"federation\"\n"},
      {"protected.toml", protected_toml},
  });
}

OutboundDecision Out(const PolicySet& set, IndicatorType type,
                     const std::string& value) {
  OutboundContext ctx;
  ctx.now = kNow;
  return EvaluateOutbound(set, Record(type, value), "KZ", ctx);
}

struct Value {
  IndicatorType type;
  std::string value;
};

void ExpectWithheld(const PolicySet& set, const std::vector<Value>& values,
                    const std::string& key, int line) {
  for (const Value& v : values) {
    const auto d = Out(set, v.type, v.value);
    EXPECT_EQ(d.verdict, Verdict::kWithhold) << v.value;
    EXPECT_EQ(d.rule.file, "protected.toml") << v.value;
    EXPECT_EQ(d.rule.key, key) << v.value << ": " << d.rule.reason;
    EXPECT_EQ(d.rule.line, line) << v.value;
  }
}

void ExpectShared(const PolicySet& set, const std::vector<Value>& values) {
  for (const Value& v : values) {
    const auto d = Out(set, v.type, v.value);
    EXPECT_EQ(d.verdict, Verdict::kShare)
        << v.value << ": " << d.rule.file << " " << d.rule.key << " ("
        << d.rule.reason << ")";
  }
}

constexpr IndicatorType kV4 = IndicatorType::kIpv4;
constexpr IndicatorType kV6 = IndicatorType::kIpv6;
constexpr IndicatorType kUrl = IndicatorType::kUrl;
constexpr IndicatorType kEmail = IndicatorType::kEmail;
constexpr IndicatorType kDomain = IndicatorType::kDomain;

// ---- finding 4: other spellings of a protected IPv4 address ---------------

TEST(ProtectedMatch, Issue13Finding4EmbeddedIpv4SpellingsOfAProtectedNetworkAreWithheld) {
  const PolicySet set = OpenKzWith("cidrs = [\"195.158.0.0/16\"]\n");
  ExpectWithheld(set,
                 {{kV6, "::ffff:195.158.1.2"},
                  {kV6, "::ffff:0:0/96"},
                  {kUrl, "http://[::ffff:195.158.1.2]/login"},
                  {kV6, "64:ff9b::c39e:102"},  // NAT64 64:ff9b::195.158.1.2
                  {kV6, "64:ff9b::/96"},
                  {kV6, "2002::/16"},
                  {kV6, "::/0"},
                  {kV6, "::c39e:102"},                 // IPv4-compatible
                  {kV6, "::ffff:0:c39e:102"},          // IPv4-translated
                  {kV6, "64:ff9b:1:c39e:1:200::"},     // local-use, /48 layout
                  {kV6, "64:ff9b:1::c39e:102"},        // local-use, /96 layout
                  {kV6, "2002:c39e:102::1"},           // 6to4
                  {kV6, "2002:c39e::/32"},
                  {kV6, "2001:0:c39e:102::1"},         // Teredo server
                  {kV6, "2000::/3"},                   // covers 6to4
                  {kUrl, "http://[64:ff9b::c39e:102]:8080/x"},
                  {kUrl, "https://[2002:c39e:102::1]/"},
                  {kEmail, "x@[IPv6:::ffff:195.158.0.1]"}},
                 "cidrs", 1);
}

TEST(ProtectedMatch, Issue13Finding4ReasonNamesTheEmbeddedAddress) {
  const PolicySet set = OpenKzWith("cidrs = [\"195.158.0.0/16\"]\n");
  EXPECT_THAT(Out(set, kV6, "::ffff:195.158.1.2").rule.reason,
              HasSubstr("::ffff:195.158.1.2 (IPv4-mapped 195.158.1.2) is "
                        "inside protected network 195.158.0.0/16"));
  EXPECT_THAT(Out(set, kV6, "64:ff9b::/96").rule.reason,
              HasSubstr("64:ff9b::/96 (NAT64 0.0.0.0/0) contains protected "
                        "network 195.158.0.0/16"));
}

TEST(ProtectedMatch, Issue13Finding4ProtectedMappedNetworkProtectsIpv4) {
  // The reverse: a protected network written as IPv4-mapped IPv6.
  const PolicySet set = OpenKzWith("cidrs = [\"::ffff:195.158.0.0/112\"]\n");
  ExpectWithheld(set,
                 {{kV4, "195.158.1.2"},
                  {kV4, "195.0.0.0/8"},
                  {kV4, "195.158.0.0/24"},
                  {kV4, "0.0.0.0/0"},
                  {kV6, "::ffff:195.158.1.2"},
                  {kV6, "64:ff9b::c39e:102"},
                  {kUrl, "http://195.158.1.2/"},
                  {kEmail, "x@[195.158.0.1]"}},
                 "cidrs", 1);
  EXPECT_THAT(Out(set, kV4, "195.158.1.2").rule.reason,
              HasSubstr("195.158.1.2 is inside protected network "
                        "::ffff:195.158.0.0/112 (IPv4-mapped 195.158.0.0/16)"));
  ExpectShared(set, {{kV4, "195.159.0.1"}, {kV4, "10.0.0.0/8"},
                     {kV6, "::ffff:10.0.0.1"}, {kV6, "2001:db8::/32"}});
}

TEST(ProtectedMatch, Issue13Finding4ProtectedNat64And6to4NetworksProtectIpv4) {
  const PolicySet set =
      OpenKzWith("cidrs = [\"10.0.0.0/8\", \"64:ff9b::c39e:0/112\", "
                 "\"2002:c000:200::/40\"]\n");
  ExpectWithheld(set, {{kV4, "195.158.1.2"}, {kV6, "::ffff:195.158.7.7"}},
                 "cidrs", 1);
  ExpectWithheld(set, {{kV4, "192.0.2.9"}, {kUrl, "http://3221225993/"}},
                 "cidrs", 1);
  ExpectShared(set, {{kV4, "195.159.1.2"}, {kV4, "192.0.3.1"}});
}

TEST(ProtectedMatch, Issue13Finding4UnprotectedEmbeddedAddressesAreShared) {
  const PolicySet set = OpenKzWith("cidrs = [\"195.158.0.0/16\"]\n");
  ExpectShared(set, {{kV6, "::ffff:195.159.1.2"},
                     {kV6, "::ffff:10.0.0.0/104"},
                     {kV6, "64:ff9b::a00:1"},
                     {kV6, "2002:a00:1::/48"},
                     {kV6, "2001:db8::1"},
                     {kV6, "::1"},
                     {kV6, "::"},
                     {kUrl, "http://[::ffff:10.0.0.1]/x"},
                     {kUrl, "http://[2001:db8::1]/x"}});
}

// ---- finding 5: URL hosts as browsers read them ---------------------------

TEST(ProtectedMatch, Issue13Finding5BackslashUserinfoUrlIsWithheld) {
  const PolicySet set = OpenKzWith("domain_suffixes = [\"gov.uz\"]\n");
  ExpectWithheld(set,
                 {{kUrl, "http://gov.uz\\@evil.com/"},
                  {kUrl, "https://portal.gov.uz\\@evil.com/login"},
                  {kUrl, "http://gov.uz:443\\@evil.com/"},
                  {kUrl, "ws://GOV.UZ.\\@evil.com/"},
                  {kUrl, "http://%67ov.uz\\@evil.com/"},
                  {kUrl, "http://\xEF\xBD\x87\xEF\xBD\x8F\xEF\xBD\x96.uz\\@evil.com/"},
                  // The RFC 3986 reading is still checked too.
                  {kUrl, "http://evil.com\\@gov.uz/"},
                  {kUrl, "http://a@b@mail.gov.uz/"}},
                 "domain_suffixes", 1);
  EXPECT_THAT(Out(set, kUrl, "http://gov.uz\\@evil.com/").rule.reason,
              HasSubstr("(a browser reads host gov.uz) is under protected "
                        "domain gov.uz"));
}

TEST(ProtectedMatch, Issue13Finding5NumericUrlHostsAreReadAsAddresses) {
  const PolicySet set = OpenKzWith("cidrs = [\"195.158.0.0/16\"]\n");
  ExpectWithheld(set,
                 {{kUrl, "http://3281912066\\@evil.com/"},
                  {kUrl, "http://0xC39E0102\\@evil.com/"},
                  {kUrl, "http://0303.0236.1.2\\@evil.com/"},
                  {kUrl, "http://195.158.258\\@evil.com/"},
                  {kUrl, "http://195.158.1.2.\\@evil.com/"},
                  {kUrl, "http://0xc3.0x9e.0x1.0x2/"},
                  {kUrl, "http://[::ffff:195.158.1.2]\\@evil.com/"},
                  {kUrl, "smb://3281912066/share"},
                  // A domain indicator that every resolver reads as an
                  // address, and an e-mail domain likewise.
                  {kDomain, "0xc3.0x9e.0x1.0x2"},
                  {kEmail, "a@0xc3.0x9e.0x1.0x2"}},
                 "cidrs", 1);
}

TEST(ProtectedMatch, Issue13Finding5UnreadableUrlHostIsWithheldWhenHostsAreProtected) {
  const PolicySet both =
      OpenKzWith("cidrs = [\"195.158.0.0/16\"]\ndomain_suffixes = [\"gov.uz\"]\n");
  const std::vector<Value> unreadable = {
      {kUrl, "http://foo.0x10/"},              // ends in a number, not IPv4
      {kUrl, "http://x^y\\@evil.com/"},        // forbidden code point
      {kUrl, "http://gov.ux:abc\\@evil.com/"},  // a port a browser refuses
      {kUrl, "http://%ff\\@evil.com/"},        // not UTF-8 once decoded
      {kUrl, "smb://gov.uz%00.evil.com/"},     // a C resolver reads gov.uz
      {kUrl, "smb://%2567ov.uz/"},             // decoded twice: gov.uz
  };
  ExpectWithheld(both, unreadable, "domain_suffixes", 0);
  EXPECT_THAT(Out(both, kUrl, "http://foo.0x10/").rule.reason,
              HasSubstr("withheld to be safe"));
  ExpectWithheld(OpenKzWith("cidrs = [\"195.158.0.0/16\"]\n"), unreadable,
                 "cidrs", 0);
  // Nothing that names a host is protected: an unreadable host cannot hide
  // a protected one.
  ExpectShared(OpenKzWith("asns = [8193]\n"), unreadable);
}

TEST(ProtectedMatch, Issue13Finding5UnprotectedTrickyUrlsAreShared) {
  const PolicySet set =
      OpenKzWith("cidrs = [\"195.158.0.0/16\"]\ndomain_suffixes = [\"gov.uz\"]\n");
  ExpectShared(set, {{kUrl, "http://evil.com\\@evilgov.uz/"},
                     {kUrl, "http://evil.com/\\@gov.uz"},
                     {kUrl, "http://evil.com/?next=http://gov.uz/"},
                     {kUrl, "http://gov.uz.evil.com\\@x.example/"},
                     {kUrl, "http://3221225993\\@evil.com/"},  // 192.0.2.9
                     {kUrl, "tcp://gov.uz\\@evil.com/"},
                     {kEmail, "gov.uz@evil.example"}});
}

TEST(ProtectedMatch, UrlHostKeepsItsPlainTextReading) {
  EXPECT_EQ(UrlHost("http://gov.uz\\@evil.com/"), "evil.com");
  EXPECT_EQ(UrlHost("https://u@[2001:DB8::1]:8443/x"), "2001:db8::1");
  EXPECT_EQ(UrlHost("http://[::1/"), "");
}

}  // namespace
}  // namespace caravan::policy
