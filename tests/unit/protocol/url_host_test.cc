// URL hosts as browsers (WHATWG) and RFC 3986 tools read them
// (protocol/url_host.h): the tricky spellings with '\', '@', ':', '[', ']',
// '%', user info, numeric IPv4 forms, trailing dots, case and IDN.

#include "protocol/url_host.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "protocol/indicator_parse.h"

namespace caravan::protocol {
namespace {

// "195.158.1.2", "[::1]" for addresses, the name for domains, "-" for no
// host, "FAIL" for a failed reading.
std::string Show(const Result<HostName>& r) {
  if (!r.ok()) return "FAIL";
  if (r->empty()) return "-";
  if (r->address && r->address->is_v6) return "[" + r->ToString() + "]";
  return r->ToString();
}

struct Case {
  std::string url;
  std::string whatwg;
  std::string rfc3986;
};

TEST(UrlHost, BothReadingsOfTrickyUrls) {
  const std::vector<Case> cases = {
      // Plain.
      {"http://gov.uz/", "gov.uz", "gov.uz"},
      {"https://user:pw@portal.gov.uz:8443/x?y#z", "portal.gov.uz",
       "portal.gov.uz"},
      // Backslash: special URLs end the authority there, RFC 3986 does not.
      {"http://gov.uz\\@evil.com/", "gov.uz", "evil.com"},
      {"http://evil.com\\@gov.uz/", "evil.com", "gov.uz"},
      {"https://gov.uz:8080\\@evil.com/", "gov.uz", "evil.com"},
      {"ws://gov.uz\\x@evil.com", "gov.uz", "evil.com"},
      {"http:\\\\gov.uz\\x", "gov.uz", "FAIL"},
      {"https:////\\gov.uz/", "gov.uz", "FAIL"},
      // ... but not for other schemes.
      {"tcp://gov.uz\\@evil.com/", "evil.com", "evil.com"},
      {"smb://gov.uz\\@evil.com/share", "evil.com", "evil.com"},
      // User info ends at the last '@' of the authority.
      {"http://a@b@gov.uz/", "gov.uz", "gov.uz"},
      {"http://gov.uz:80@evil.com/", "evil.com", "evil.com"},
      {"http://gov.uz@evil.com/", "evil.com", "evil.com"},
      {"http://evil.com/@gov.uz", "evil.com", "evil.com"},
      {"http://evil.com?@gov.uz", "evil.com", "evil.com"},
      {"http://evil.com#@gov.uz", "evil.com", "evil.com"},
      // Case, trailing dots, percent-encoding, IDN.
      {"http://GOV.Uz./", "gov.uz", "gov.uz"},
      {"http://gov.uz../", "gov.uz", "gov.uz"},
      {"http://%67ov.%55Z/", "gov.uz", "gov.uz"},
      {"http://\xEF\xBD\x87\xEF\xBD\x8F\xEF\xBD\x96.uz/", "gov.uz", "gov.uz"},
      {"http://\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5\xD1\x80.\xD1\x80\xD1\x84/",
       "xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"},
      {"http://%D0%BF%D1%80%D0%B8%D0%BC%D0%B5%D1%80.xn--p1ai/",
       "xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"},
      {"http://XN--E1AFMKFD.xn--p1ai/", "xn--e1afmkfd.xn--p1ai",
       "xn--e1afmkfd.xn--p1ai"},
      {"http://gov\xE3\x80\x82uz/", "gov.uz", "gov.uz"},  // U+3002 is a dot
      {"http://\xC3\x9C.gov.uz/", "xn--tda.gov.uz", "xn--tda.gov.uz"},
      {"http://fa\xC3\x9F.example/", "xn--fa-hia.example", "xn--fa-hia.example"},
      // Numeric IPv4 forms, as the WHATWG IPv4 parser (and inet_aton) read
      // them.
      {"http://195.158.1.2/", "195.158.1.2", "195.158.1.2"},
      {"http://3281912066/", "195.158.1.2", "195.158.1.2"},
      {"http://0xC39E0102/", "195.158.1.2", "195.158.1.2"},
      {"http://0303.0236.1.2/", "195.158.1.2", "195.158.1.2"},
      {"http://0xc3.0x9e.0x1.0x2/", "195.158.1.2", "195.158.1.2"},
      {"http://195.158.258/", "195.158.1.2", "195.158.1.2"},
      {"http://195.10354946/", "195.158.1.2", "195.158.1.2"},
      {"http://195.158.1.2./", "195.158.1.2", "195.158.1.2"},
      {"http://%31%39%35.158.1.2/", "195.158.1.2", "195.158.1.2"},
      {"http://0x/", "0.0.0.0", "0.0.0.0"},
      {"http://3281912066\\@evil.com/", "195.158.1.2", "evil.com"},
      {"smb://3281912066/share", "195.158.1.2", "195.158.1.2"},
      // IPv6 literals, with embedded IPv4.
      {"http://[::ffff:195.158.1.2]/login", "[::ffff:195.158.1.2]",
       "[::ffff:195.158.1.2]"},
      {"http://u@[2001:DB8::1]:8443/x", "[2001:db8::1]", "[2001:db8::1]"},
      {"http://[::FFFF:C39E:102]/", "[::ffff:195.158.1.2]", "[::ffff:195.158.1.2]"},
      {"http://[::ffff:195.158.1.02]/", "FAIL", "FAIL"},
      {"http://[64:ff9b::195.158.1.2]\\@evil.com/", "[64:ff9b::c39e:102]",
       "evil.com"},
      // Hosts a browser refuses: the Standard returns failure.
      {"http://foo.0x10/", "FAIL", "foo.0x10"},
      {"http://example.255/", "FAIL", "example.255"},
      {"http://1.2.3.4.5/", "FAIL", "1.2.3.4.5"},
      {"http://256.1.1.1/", "FAIL", "256.1.1.1"},
      {"http://09.1.2.3/", "FAIL", "09.1.2.3"},
      {"http://0x100000000/", "FAIL", "0x100000000"},
      {"http://x^y.example/", "FAIL", "x^y.example"},
      {"http://a%zz.example/", "FAIL", "FAIL"},  // a leftover '%'
      {"http://a%2fb.example/", "FAIL", "a/b.example"},
      {"http://%ff.example/", "FAIL", "FAIL"},
      {"http://[::1]x/", "FAIL", "[::1]"},
      {"http://[::1/", "FAIL", "FAIL"},
      {"http://[fe80::1%25eth0]/", "FAIL", "FAIL"},
      {"http://[1.2.3.4]/", "FAIL", "FAIL"},
      {"http://gov.uz:abc/", "FAIL", "gov.uz"},
      {"http://gov.uz:65536/", "FAIL", "gov.uz"},
      {"http://gov.uz:abc\\@evil.com/", "FAIL", "evil.com"},
      {"http://user@/x", "FAIL", "FAIL"},
      {"http:///", "FAIL", "FAIL"},
      {"http://:80/", "FAIL", "FAIL"},
      // A browser drops tabs and newlines and trims surrounding spaces; a
      // resolver handed the raw host refuses the control characters.
      {" http://go\tv.u\nz/ ", "gov.uz", "FAIL"},
      // file: no user info nor port; localhost and drive letters are no host.
      {"file://gov.uz/etc", "gov.uz", "gov.uz"},
      {"file:///etc/passwd", "-", "FAIL"},
      {"file://localhost/etc", "-", "localhost"},
      {"file://c:/x", "-", "c"},
      // No authority at all.
      {"tcp:/x", "-", "FAIL"},
      {"mailto:a@gov.uz", "-", "FAIL"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Show(WhatwgUrlHost(c.url)), c.whatwg) << c.url;
    EXPECT_EQ(Show(Rfc3986UrlHost(c.url)), c.rfc3986) << c.url;
  }
}

TEST(UrlHost, FailuresSayWhy) {
  auto r = WhatwgUrlHost("http://foo.0x10/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("ending in a number"), std::string::npos)
      << r.status().message();
  r = WhatwgUrlHost("http://gov.uz:abc/");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("port"), std::string::npos)
      << r.status().message();
  // A bracket that percent-decoding brings into a name (fuzz_url_host):
  // no DNS name holds one, and "[k" would read back as an IPv6 literal.
  for (const char* url : {"nntp://%5b%6b:/h", "nntp://k%5d/", "git://a%5Bb/"}) {
    auto b = Rfc3986UrlHost(url);
    ASSERT_FALSE(b.ok()) << url;
    EXPECT_NE(b.status().message().find("'['"), std::string::npos)
        << b.status().message();
  }
}

TEST(UrlHost, Ipv4ParserTable) {
  struct V4 {
    std::string text;
    std::optional<uint32_t> want;
  };
  const std::vector<V4> cases = {
      {"195.158.1.2", 0xC39E0102u}, {"3281912066", 0xC39E0102u},
      {"0xc39e0102", 0xC39E0102u},  {"0XC39E0102", 0xC39E0102u},
      {"030347400402", 0xC39E0102u}, {"195.158.258", 0xC39E0102u},
      {"195.10354946", 0xC39E0102u}, {"195.158.1.2.", 0xC39E0102u},
      {"0", 0u},                    {"0x", 0u},
      {"00", 0u},                   {"4294967295", 0xFFFFFFFFu},
      {"4294967296", std::nullopt}, {"1.2.3.256", std::nullopt},
      {"1.2.65536", std::nullopt},  {"256.0.0.1", std::nullopt},
      {"1.2.3.4.5", std::nullopt},  {"1..2", std::nullopt},
      {"08", std::nullopt},         {"0x1g", std::nullopt},
      {"", std::nullopt},           {".", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"1.2.3.4..", std::nullopt},
  };
  for (const V4& c : cases) {
    EXPECT_EQ(ParseWhatwgIpv4(c.text), c.want) << c.text;
  }
}

TEST(UrlHost, ResolverRulesKeepOddNamesAsNames) {
  // A browser refuses these; a resolver would look the name up.
  for (const std::string h : {"x^y.example", "foo.0x10", "a|b.example"}) {
    EXPECT_FALSE(ReadHost(h, HostRules::kBrowser).ok()) << h;
    auto r = ReadHost(h, HostRules::kResolver);
    ASSERT_TRUE(r.ok()) << h;
    EXPECT_EQ(r->domain, h);
  }
  EXPECT_EQ(ReadHost("0xc3.0x9e.1.2", HostRules::kResolver)->ToString(),
            "195.158.1.2");
  EXPECT_FALSE(ReadHost("", HostRules::kResolver).ok());
  EXPECT_FALSE(ReadHost(".", HostRules::kResolver).ok());
}

TEST(UrlHost, ResolverRulesRefuseControlCharactersAndLeftoverPercent) {
  // A C resolver stops at NUL: "gov.uz%00.evil.com" would be gov.uz.
  auto nul = Rfc3986UrlHost("smb://gov.uz%00.evil.com/");
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("control character or '%'"),
            std::string::npos)
      << nul.status().message();
  EXPECT_FALSE(WhatwgUrlHost("smb://gov.uz%00.evil.com/").ok());
  EXPECT_FALSE(ReadHost(std::string("a\x01b.example"), HostRules::kResolver).ok());
  // "%2567" decodes to "%67", which a tool decoding twice reads as "g".
  EXPECT_FALSE(ReadHost("%2567ov.uz", HostRules::kResolver).ok());
  EXPECT_FALSE(ReadHost("a%zz.example", HostRules::kResolver).ok());
  // Found by fuzz_url_host: decoding "%%%%38510.%" leaves '%' and NUL.
  EXPECT_FALSE(Rfc3986UrlHost(std::string("b://\0%%%%38510.%..//", 20)).ok());
  EXPECT_EQ(ReadHost("%67ov.uz", HostRules::kResolver)->ToString(), "gov.uz");
}

// A host that cannot be read is withheld whenever protected.toml names
// hosts (protected_match), so real, ordinary values must read cleanly and
// the same both ways, or that safety net would withhold real data.
TEST(UrlHost, RealUrlsAndDomainsReadCleanlyAndAlike) {
  const std::string dir = std::string(CARAVAN_TESTDATA_DIR) + "/real/";
  int urls = 0;
  std::ifstream url_lines(dir + "urls.txt");
  ASSERT_TRUE(url_lines.good());
  for (std::string line; std::getline(url_lines, line);) {
    auto v = NormalizeValue(IndicatorType::kUrl, line);
    if (!v.ok()) continue;
    ++urls;
    const auto browser = WhatwgUrlHost(*v);
    const auto rfc = Rfc3986UrlHost(*v);
    ASSERT_TRUE(browser.ok()) << *v << ": " << browser.status().message();
    ASSERT_TRUE(rfc.ok()) << *v << ": " << rfc.status().message();
    EXPECT_EQ(*browser, *rfc) << *v;
  }
  EXPECT_GT(urls, 500);
  int domains = 0;
  std::ifstream domain_lines(dir + "domains.txt");
  ASSERT_TRUE(domain_lines.good());
  for (std::string line; std::getline(domain_lines, line);) {
    auto v = NormalizeValue(IndicatorType::kDomain, line);
    if (!v.ok()) continue;
    ++domains;
    const auto host = ReadHost(*v, HostRules::kBrowser);
    ASSERT_TRUE(host.ok()) << *v << ": " << host.status().message();
    EXPECT_EQ(host->domain, *v);
  }
  EXPECT_GT(domains, 90000);
}

}  // namespace
}  // namespace caravan::protocol
