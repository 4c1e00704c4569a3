// The model's own readings, pinned on the examples of the issue and the
// standards, so that a disagreement with the engine can be trusted to be
// about the engine (or about the docs), not about a slip in the model.

#include "tests/unit/policy/model/value_model.h"

#include <gtest/gtest.h>

#include "tests/unit/policy/model/punycode_model.h"

namespace caravan::policy::model {
namespace {

// Whether any reading of `value` overlaps any reading of `protected_cidr`.
bool Touches(const std::string& type, const std::string& value,
             const std::string& protected_cidr) {
  const Readings r = ReadValue(type, value);
  auto p = ReadIp(protected_cidr);
  EXPECT_TRUE(p.has_value()) << protected_cidr;
  if (!p) return false;
  for (const Net& a : IpReadings(Masked(*p))) {
    for (const Net& b : r.nets) {
      if (Overlaps(a, b)) return true;
    }
  }
  return false;
}

std::vector<std::string> Hosts(const std::string& url) {
  std::vector<std::string> out;
  for (const auto& d : ReadValue("url", url).domains) {
    std::string s;
    for (const auto& l : d) s += (s.empty() ? "" : ".") + l;
    out.push_back(s);
  }
  return out;
}

TEST(PolicyModelValues, EveryIpv6EmbeddingCarriesTheIpv4Address) {
  for (const char* v :
       {"::ffff:195.158.1.2", "::ffff:c39e:102", "::195.158.1.2",
        "::ffff:0:195.158.1.2", "64:ff9b::195.158.1.2", "64:ff9b::c39e:102",
        "64:ff9b:1:c39e:1:200::",     // RFC 6052 /48
        "64:ff9b:1:c3:9e:102::",      // /56
        "64:ff9b:1:0:c3:9e01:200::",  // /64
        "64:ff9b:1::c39e:102",        // /96
        "2002:c39e:102::/48", "2002:c39e:102::1",
        "2001:0:c39e:102::",          // Teredo server
        "2001:0:a0b:c0d::3c61:fefd",  // Teredo client
        "::ffff:0:0/96", "2000::/3", "::/0", "::ffff:195.158.0.0/104"}) {
    EXPECT_TRUE(Touches("ipv6", v, "195.158.0.0/16")) << v;
  }
  for (const char* v :
       {"::ffff:195.159.1.2", "2002:c39f::/32", "2001:db8::c39e:102", "::1",
        "64:ff9b:1:c39f:1:200::"}) {
    EXPECT_FALSE(Touches("ipv6", v, "195.158.0.0/16")) << v;
  }
  // And back: a protected network written in an embedding protects IPv4.
  EXPECT_TRUE(Touches("ipv4", "195.158.1.2", "::ffff:195.158.0.0/112"));
  EXPECT_TRUE(Touches("ipv4", "195.0.0.0/8", "2002:c39e::/32"));
  EXPECT_FALSE(Touches("ipv4", "195.159.0.0/16", "::ffff:195.158.0.0/112"));
}

TEST(PolicyModelValues, UrlHostsAsBrowsersAndRfc3986ReadThem) {
  EXPECT_EQ(Hosts("http://gov.uz\\@evil.com/"),
            (std::vector<std::string>{"gov.uz", "evil.com"}));
  EXPECT_EQ(Hosts("http://user@gov.uz@evil.com"),
            (std::vector<std::string>{"evil.com", "evil.com"}));
  EXPECT_EQ(Hosts("http://evil.com@gov.uz"),
            (std::vector<std::string>{"gov.uz", "gov.uz"}));
  EXPECT_EQ(Hosts("smb://gov.uz\\@evil.com/"),
            (std::vector<std::string>{"evil.com", "evil.com"}));
  EXPECT_EQ(Hosts("http://evil.com#@gov.uz"),
            (std::vector<std::string>{"evil.com", "evil.com"}));
  EXPECT_EQ(Hosts("HTTP://GOV.UZ.:8080/x"),
            (std::vector<std::string>{"gov.uz", "gov.uz"}));
  EXPECT_TRUE(
      Touches("url", "http://[::ffff:195.158.1.2]:80/", "195.158.0.0/16"));
  EXPECT_TRUE(Touches("url", "http://195.158.1.0x2/", "195.158.0.0/16"));
  EXPECT_TRUE(Touches("url", "http://0xC3.0x9E.1.2/", "195.158.0.0/16"));
  EXPECT_TRUE(Touches("url", "http://3281912066/", "195.158.0.0/16"));
  EXPECT_TRUE(Touches("url", "http://0303.0236.1.2/", "195.158.0.0/16"));
  EXPECT_TRUE(Touches("url", "http://195.158.258/", "195.158.0.0/16"));
  EXPECT_FALSE(ReadValue("url", "http://foo.0x10/").unreadable.empty());
  EXPECT_FALSE(ReadValue("url", "http://x^y\\@evil.com/").unreadable.empty());
  EXPECT_FALSE(
      ReadValue("url", "http://gov.uz:8o\\@evil.com/").unreadable.empty());
  EXPECT_TRUE(ReadValue("url", "http://a.b/x^y").unreadable.empty());
  // Only a browser refuses a name that ends in a number and is no IPv4.
  EXPECT_TRUE(ReadValue("url", "tcp://foo.0x10/").unreadable.empty());
  EXPECT_TRUE(ReadValue("url", "http://x\\@foo.0x10/").unreadable.empty());
  // A browser skips every '/' and '\\' after "http:".
  EXPECT_EQ(Hosts("http://\\@gov.uz"),
            (std::vector<std::string>{"gov.uz", "gov.uz"}));
}

TEST(PolicyModelValues, DomainsAsLowercaseALabels) {
  EXPECT_EQ(ToALabel("қаз"), "xn--80ao21a");
  EXPECT_EQ(ToALabel("ҚАЗ"), "xn--80ao21a");
  EXPECT_EQ(ToALabel("bücher"), "xn--bcher-kva");
  EXPECT_EQ(ToALabel("GOV"), "gov");
  EXPECT_EQ(DomainLabels("Mail.GOV.uz."),
            (std::vector<std::string>{"mail", "gov", "uz"}));
  EXPECT_EQ(DomainLabels("a..uz"), std::nullopt);
  EXPECT_EQ(DomainLabels("faß\u3002GOV\uFF0Euz"),
            (std::vector<std::string>{"xn--fa-hia", "gov", "uz"}));
  EXPECT_TRUE(Touches("domain", "195.158.1.0x2", "195.158.0.0/16"));
  EXPECT_TRUE(Touches("email", "a@195.158.1.0x2", "195.158.0.0/16"));
}

}  // namespace
}  // namespace caravan::policy::model
