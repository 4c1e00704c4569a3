// IPv6 spellings of IPv4 (protocol/ip_embedded.h): every embedding prefix,
// its bit layout, networks that cover an embedding prefix, and the overlap
// that protected-asset matching is built on.

#include "protocol/ip_embedded.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/indicator_parse.h"

namespace caravan::protocol {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

IpNetwork Net(const std::string& text) {
  auto n = ParseIpNetwork(text);
  EXPECT_TRUE(n.has_value()) << text;
  return n.value_or(IpNetwork{});
}

// "form=range" for every embedded range, in order (the network itself, which
// always comes first, left out).
std::vector<std::string> Embedded(const std::string& text) {
  std::vector<std::string> out;
  const auto ranges = CanonicalRanges(Net(text));
  EXPECT_EQ(ranges.front().network, Net(text)) << text;
  EXPECT_EQ(ranges.front().form, "") << text;
  for (size_t i = 1; i < ranges.size(); ++i) {
    out.push_back(std::string(ranges[i].form) + "=" +
                  ranges[i].network.ToString());
  }
  return out;
}

TEST(IpEmbedded, EachEmbeddingOfOneAddress) {
  // 195.158.1.2 = c39e:0102, written through every embedding.
  struct Case {
    std::string v6;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"::ffff:195.158.1.2", "IPv4-mapped=195.158.1.2"},
      {"::195.158.1.2", "IPv4-compatible=195.158.1.2"},
      {"::ffff:0:195.158.1.2", "IPv4-translated=195.158.1.2"},
      {"64:ff9b::195.158.1.2", "NAT64=195.158.1.2"},
      // RFC 6052 2.2, /48: v4 in bits 48..63 and 72..87, u octet 64..71.
      {"64:ff9b:1:c39e:1:200::", "NAT64 local-use /48=195.158.1.2"},
      // /56: bits 56..63 and 72..95.
      {"64:ff9b:1:c3:9e:102::", "NAT64 local-use /56=195.158.1.2"},
      // /64: bits 72..103.
      {"64:ff9b:1:0:c3:9e01:200::", "NAT64 local-use /64=195.158.1.2"},
      // /96: bits 96..127.
      {"64:ff9b:1::c39e:102", "NAT64 local-use /96=195.158.1.2"},
      {"2002:c39e:102::1", "6to4=195.158.1.2"},
      {"2002:c39e:102:77::/64", "6to4=195.158.1.2"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Embedded(c.v6), Contains(c.want)) << c.v6;
  }
}

TEST(IpEmbedded, TeredoCarriesServerAndComplementedClient) {
  // RFC 4380's example: server 65.54.227.120, client 192.0.2.45 stored as
  // its complement 3fff:fdd2.
  EXPECT_THAT(Embedded("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
              ElementsAre("Teredo server=65.54.227.120",
                          "Teredo client=192.0.2.45"));
}

TEST(IpEmbedded, PlainAddressesEmbedNothing) {
  for (const std::string v : {"2001:db8::1", "2001:db8::/32", "fe80::1",
                              "2a01:4f8::/32", "ffff::/16", "195.158.1.2",
                              "0.0.0.0/0"}) {
    EXPECT_THAT(Embedded(v), ElementsAre()) << v;
  }
}

TEST(IpEmbedded, UnspecifiedAndLoopbackAreNotCompatibleAddresses) {
  EXPECT_THAT(Embedded("::"), ElementsAre());
  EXPECT_THAT(Embedded("::1"), ElementsAre());
  EXPECT_THAT(Embedded("::/127"), ElementsAre());
  // ::2 and ::3 are: the /126 reads as the IPv4 /30 it spans.
  EXPECT_THAT(Embedded("::/126"), ElementsAre("IPv4-compatible=0.0.0.0/30"));
  EXPECT_THAT(Embedded("::2"), ElementsAre("IPv4-compatible=0.0.0.2"));
}

TEST(IpEmbedded, NetworksCoveringAnEmbeddingPrefixImplyAllOfIpv4) {
  EXPECT_THAT(Embedded("::ffff:0:0/96"), ElementsAre("IPv4-mapped=0.0.0.0/0"));
  EXPECT_THAT(Embedded("64:ff9b::/96"), ElementsAre("NAT64=0.0.0.0/0"));
  EXPECT_THAT(Embedded("2002::/16"), ElementsAre("6to4=0.0.0.0/0"));
  EXPECT_THAT(Embedded("64:ff9b:1::/48"),
              ElementsAre("NAT64 local-use /48=0.0.0.0/0"));
  // 2000::/3 covers 6to4 and Teredo; ::/0 covers everything (one range of
  // each kind is kept).
  EXPECT_THAT(Embedded("2000::/3"), ElementsAre("6to4=0.0.0.0/0"));
  EXPECT_THAT(Embedded("::/0"), ElementsAre("IPv4-mapped=0.0.0.0/0"));
  EXPECT_EQ(CanonicalRanges(Net("::/0")).size(), 2u);
}

TEST(IpEmbedded, PartialPrefixesFixTheLeadingIpv4Bits) {
  EXPECT_THAT(Embedded("::ffff:195.158.0.0/112"),
              ElementsAre("IPv4-mapped=195.158.0.0/16"));
  // /100 fixes 4 bits of 195 = 1100 0011.
  EXPECT_THAT(Embedded("::ffff:195.158.0.0/100"),
              ElementsAre("IPv4-mapped=192.0.0.0/4"));
  EXPECT_THAT(Embedded("2002:c39e::/32"), ElementsAre("6to4=195.158.0.0/16"));
  EXPECT_THAT(Embedded("64:ff9b::c39e:0/112"), ElementsAre("NAT64=195.158.0.0/16"));
  // The u octet (bits 64..71) fixes nothing of IPv4: a /72 in the /48 layout
  // fixes the same 16 bits as a /64.
  EXPECT_THAT(Embedded("64:ff9b:1:c39e::/64"),
              Contains("NAT64 local-use /48=195.158.0.0/16"));
  EXPECT_THAT(Embedded("64:ff9b:1:c39e::/72"),
              Contains("NAT64 local-use /48=195.158.0.0/16"));
  EXPECT_THAT(Embedded("64:ff9b:1:c39e:1::/80"),
              Contains("NAT64 local-use /48=195.158.1.0/24"));
}

TEST(IpEmbedded, OverlapAcrossForms) {
  const IpNetwork uz = Net("195.158.0.0/16");
  for (const std::string v :
       {"::ffff:195.158.1.2", "::ffff:0:0/96", "64:ff9b::195.158.1.2",
        "64:ff9b::/96", "2002::/16", "2002:c39e:102::1", "::/0", "::/96",
        "64:ff9b:1::c39e:102", "2001:0:c39e:102::1"}) {
    EXPECT_TRUE(OverlapsCanonically(uz, Net(v))) << v;
    EXPECT_TRUE(OverlapsCanonically(Net(v), uz)) << v;
  }
  for (const std::string v : {"::ffff:195.159.0.1", "2001:db8::/32", "::1",
                              "2002:c39f::/32", "64:ff9b::10.0.0.1"}) {
    EXPECT_FALSE(OverlapsCanonically(uz, Net(v))) << v;
  }
  // Protected in an IPv6 spelling: the IPv4 range is protected.
  const IpNetwork mapped = Net("::ffff:195.158.0.0/112");
  EXPECT_TRUE(OverlapsCanonically(mapped, Net("195.158.1.2")));
  EXPECT_TRUE(OverlapsCanonically(mapped, Net("195.0.0.0/8")));
  EXPECT_TRUE(OverlapsCanonically(mapped, Net("2002:c39e:1::/48")));
  EXPECT_FALSE(OverlapsCanonically(mapped, Net("195.159.0.0/16")));
}

TEST(IpEmbedded, EmbeddedFormsKeepTheirIpv6TypeAndText) {
  // Matching sees the embedded IPv4; the stored value and its type (hence
  // the indicator id) are not rewritten.
  for (const auto& [raw, want] : std::vector<std::pair<std::string, std::string>>{
           {"::ffff:195.158.1.2", "::ffff:195.158.1.2"},
           {"::FFFF:C39E:102", "::ffff:195.158.1.2"},
           {"64:ff9b::195.158.1.2", "64:ff9b::c39e:102"},
           {"2002:C39E:0102::1", "2002:c39e:102::1"}}) {
    auto parsed = DetectAndNormalize(raw);
    ASSERT_TRUE(parsed.ok()) << raw << ": " << parsed.status().message();
    EXPECT_EQ(parsed->type, IndicatorType::kIpv6) << raw;
    EXPECT_EQ(parsed->value, want) << raw;
  }
}

}  // namespace
}  // namespace caravan::protocol
