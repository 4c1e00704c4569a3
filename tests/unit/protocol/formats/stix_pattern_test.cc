#include <gtest/gtest.h>

#include "protocol/formats/stix.h"

namespace caravan::protocol {
namespace {

std::vector<PatternValue> Ok(std::string_view p) {
  auto r = ParseStixPattern(p);
  EXPECT_TRUE(r.ok()) << p << ": " << r.status().ToString();
  return r.ok() ? *r : std::vector<PatternValue>{};
}

std::string Err(std::string_view p) {
  auto r = ParseStixPattern(p);
  EXPECT_FALSE(r.ok()) << p;
  return r.ok() ? "" : r.status().message();
}

TEST(StixPattern, SimpleComparisonsPerPath) {
  using T = IndicatorType;
  EXPECT_EQ(Ok("[ipv4-addr:value = '10.0.0.0/8']"),
            (std::vector<PatternValue>{{T::kIpv4, "10.0.0.0/8"}}));
  EXPECT_EQ(Ok("[ ipv6-addr:value='2001:db8::1' ]")[0].type, T::kIpv6);
  EXPECT_EQ(Ok("[domain-name:value = 'a.example']")[0].type, T::kDomain);
  EXPECT_EQ(Ok("[url:value = 'http://a.example/']")[0].type, T::kUrl);
  EXPECT_EQ(Ok("[email-addr:value = 'x@a.example']")[0].type, T::kEmail);
  EXPECT_EQ(Ok("[file:hashes.MD5 = 'aa']")[0].type, T::kMd5);
  EXPECT_EQ(Ok("[file:hashes.md5 = 'aa']")[0].type, T::kMd5);  // apt1 spelling
  EXPECT_EQ(Ok("[file:hashes.'SHA-1' = 'aa']")[0].type, T::kSha1);
  EXPECT_EQ(Ok("[file:hashes.'SHA-256' = 'aa']")[0].type, T::kSha256);
  EXPECT_EQ(Ok("[file:hashes.SHA256 = 'aa']")[0].type, T::kSha256);
  EXPECT_EQ(Ok("[autonomous-system:number = 64500]"),
            (std::vector<PatternValue>{{T::kAsn, "AS64500"}}));
}

TEST(StixPattern, OrOfComparisonsAndObservations) {
  auto v = Ok("[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8'] OR "
              "([domain-name:value = 'a.example'] OR [url:value = 'http://b.example/'])");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].raw, "1.2.3.4");
  EXPECT_EQ(v[3].type, IndicatorType::kUrl);
  EXPECT_EQ(Ok("[(ipv4-addr:value = '1.2.3.4')]").size(), 1u);
}

TEST(StixPattern, StringEscapes) {
  EXPECT_EQ(Ok(R"([url:value = 'http://a.example/it\'s\\x'])")[0].raw,
            R"(http://a.example/it's\x)");
  EXPECT_NE(Err(R"([url:value = 'a\n'])").find("bad escape"), std::string::npos);
}

TEST(StixPattern, UnrepresentableConstructsAreNamed) {
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.example']"),
            "pattern uses AND; caravan stores single values");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'a.example']"),
            "pattern uses AND; caravan stores single values");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']"),
            "pattern uses FOLLOWEDBY; caravan stores single values");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4'] WITHIN 60 SECONDS"),
            "pattern uses qualifier WITHIN; caravan stores single values");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES"),
            "pattern uses qualifier REPEATS; caravan stores single values");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4'] START t'2016-06-01T00:00:00Z' "
                "STOP t'2016-07-01T00:00:00Z'"),
            "pattern uses qualifier START; caravan stores single values");
  EXPECT_EQ(Err("[ipv4-addr:value NOT = '1.2.3.4']"),
            "pattern uses NOT; caravan imports only '='");
  EXPECT_EQ(Err("[ipv4-addr:value != '1.2.3.4']"),
            "pattern uses operator !=; caravan imports only '='");
  EXPECT_EQ(Err("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"),
            "pattern uses operator ISSUBSET; caravan imports only '='");
  EXPECT_EQ(Err("[domain-name:value LIKE '%.example']"),
            "pattern uses operator LIKE; caravan imports only '='");
  EXPECT_EQ(Err("[ipv4-addr:value IN ('1.2.3.4', '1.2.3.5')]"),
            "pattern uses operator IN; caravan imports only '='");
  EXPECT_EQ(Err("[file:size > 1000]"),
            "pattern uses operator >; caravan imports only '='");
  EXPECT_EQ(Err("[x509-certificate:issuer = 'CN=WEBMAIL']"),
            "object path x509-certificate:issuer has no caravan type");
  EXPECT_EQ(Err("[file:hashes.'SHA-512' = 'aa']"),
            "object path file:hashes.SHA-512 has no caravan type");
  EXPECT_EQ(Err("[autonomous-system:number = '64500']"),
            "autonomous-system:number must be compared with a non-negative integer");
  EXPECT_EQ(Err("[ipv4-addr:value = 16909060]"),
            "ipv4-addr:value must be compared with a string");
  // The most fundamental reason is reported when there are several.
  EXPECT_EQ(Err("[x509-certificate:issuer MATCHES 'a' AND file:name = 'b']"),
            "pattern uses AND; caravan stores single values");
}

TEST(StixPattern, SyntaxErrorsCarryPositions) {
  EXPECT_EQ(Err(""), "pattern syntax error at 0: expected '[' or '('");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4'"), "pattern syntax error at 28: expected ']'");
  EXPECT_EQ(Err("[ipv4-addr:value = '1.2.3.4]"), "pattern syntax error at 19: unterminated string");
  EXPECT_EQ(Err("[ipv4-addr:value '1.2.3.4']"),
            "pattern syntax error at 17: expected a comparison operator");
  EXPECT_EQ(Err("[ipv4-addr:value = ]"), "pattern syntax error at 19: expected a literal");
  EXPECT_EQ(Err("[ipv4-addr:value = '1'] or [a:b = 'c']"),
            "pattern syntax error at 24: unknown word 'or'");
  EXPECT_EQ(Err("[ipv4-addr:value = '1'] [a:b = 'c']"),
            "pattern syntax error at 24: unexpected token after pattern");
  EXPECT_EQ(Err("[ipv4-addr:value = '1' ! '2']"), "pattern syntax error at 23: expected '!='");
  EXPECT_EQ(Err("[ipv4-addr: = '1']"),
            "pattern syntax error at 11: expected a property name in object path");
  EXPECT_EQ(Err("{}"), "pattern syntax error at 0: unexpected character '{'");
}

TEST(StixPattern, Bounds) {
  std::string deep(100, '(');
  EXPECT_NE(Err(deep + "[a:b = 'c']" + std::string(100, ')')).find("nested too deeply"),
            std::string::npos);
  std::string many = "[ipv4-addr:value = '1.1.1.1'";
  for (int i = 0; i < 1100; ++i) many += " OR ipv4-addr:value = '1.1.1.1'";
  EXPECT_NE(Err(many + "]").find("more than 1024 comparisons"), std::string::npos);
  EXPECT_NE(Err(std::string(kMaxStixPatternBytes + 1, ' ')).find("longer than"),
            std::string::npos);
}

}  // namespace
}  // namespace caravan::protocol
