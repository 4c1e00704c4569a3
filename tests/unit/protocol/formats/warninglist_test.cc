// MISP warninglists: the parser's limits and errors, each list type's
// matching, matching_attributes, and every real list in
// shared/testdata/real/warninglists against the real indicator corpus
// (cross-checks from that folder's README).
#include "protocol/formats/warninglist.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/indicator_parse.h"

namespace caravan::protocol {
namespace {

namespace fs = std::filesystem;

const std::string kRealDir = std::string(CARAVAN_TESTDATA_DIR) + "/real/";
const std::string kListDir = kRealDir + "warninglists";

std::string ListJson(const std::string& type,
                     const std::vector<std::string>& entries,
                     const std::vector<std::string>& attributes = {},
                     const std::string& name = "test list") {
  nlohmann::json j = {{"name", name},
                      {"description", "d"},
                      {"version", 1},
                      {"type", type},
                      {"list", entries}};
  if (!attributes.empty()) j["matching_attributes"] = attributes;
  return j.dump();
}

Warninglist Parsed(const std::string& json) {
  auto l = ParseWarninglist(json, "t.json");
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? *l : Warninglist{};
}

WarninglistSet SetOf(const std::string& json,
                     HostnameMatch mode = HostnameMatch::kExact) {
  std::vector<Warninglist> lists;
  lists.push_back(Parsed(json));
  return WarninglistSet::Build(std::move(lists), mode);
}

std::string MatchedEntry(const WarninglistSet& set, IndicatorType type,
                         const std::string& value) {
  auto m = set.Match(type, value);
  return m ? m->entry : std::string("-");
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// ---- parsing ---------------------------------------------------------------

TEST(WarninglistParse, ReadsEveryField) {
  auto l = ParseWarninglist(
      ListJson("cidr", {"10.0.0.0/8", "1.2.3.4"}, {"ip-src", "sha224"}),
      "x.json");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->name, "test list");
  EXPECT_EQ(l->description, "d");
  EXPECT_EQ(l->version, 1);
  EXPECT_EQ(l->type, WarninglistType::kCidr);
  EXPECT_EQ(l->entries.size(), 2u);
  EXPECT_EQ(l->matching_attributes.size(), 2u);
  EXPECT_EQ(l->applies_to, (1u << static_cast<int>(IndicatorType::kIpv4)) |
                               (1u << static_cast<int>(IndicatorType::kIpv6)));
}

TEST(WarninglistParse, ErrorsNameFileAndEntry) {
  struct Case {
    std::string json;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{", "bad.json: not valid JSON"},
      {"[]", "bad.json: not a JSON object"},
      {R"({"type":"string","list":["a"]})", "bad.json: missing \"name\""},
      {R"({"name":"n","list":["a"]})", "bad.json: missing \"type\""},
      {R"({"name":"n","type":"fuzzy","list":["a"]})",
       "bad.json: type 'fuzzy' is not one of string, substring, hostname, "
       "cidr, regex"},
      {R"({"name":"n","type":"string"})", "bad.json: missing \"list\""},
      {R"({"name":"n","type":"string","list":"a"})",
       "bad.json: \"list\" is not an array"},
      {R"({"name":"n","type":"string","list":[]})",
       "bad.json: \"list\" is empty"},
      {R"({"name":"n","type":"string","list":["a", 5]})",
       "bad.json: entry 1 is not a string"},
      {R"({"name":"n","type":"string","list":["a", ""]})",
       "bad.json: entry 1 '': empty"},
      {R"({"name":"n","type":"cidr","list":["10.0.0.0/8","10.0.0.300"]})",
       "bad.json: entry 1 '10.0.0.300': not an IP address or CIDR network"},
      {R"({"name":"n","type":"regex","list":["/a(/"]})",
       "bad.json: entry 0 '/a(/': regex does not compile: "},
      {R"({"name":"n","type":"regex","list":["/a/x"]})",
       "bad.json: entry 0 '/a/x': regex flag 'x' is not supported"},
      {R"({"name":"n","type":"regex","list":["a)|(b"]})",
       "bad.json: entry 0 'a)|(b': regex does not compile"},
      {R"({"name":"n","type":"regex","list":["(a)\\1"]})",
       "bad.json: entry 0 '(a)\\1': regex does not compile"},
      // Numbers libstdc++ would overflow a long reading (undefined
      // behaviour before any regex_error); found by fuzz_warninglist.
      {R"({"name":"n","type":"regex","list":["(a)\\66666666666666666666"]})",
       "bad.json: entry 0 '(a)\\66666666666666666666': regex number at "
       "offset 4 is longer than 9 digits"},
      {R"({"name":"n","type":"regex","list":["/a{12345678901234567890}/"]})",
       "bad.json: entry 0 '/a{12345678901234567890}/': regex number at "
       "offset 2 is longer than 9 digits"},
      {R"({"name":"n","type":"regex","list":["a{1,12345678901234567890}"]})",
       "bad.json: entry 0 'a{1,12345678901234567890}': regex number at "
       "offset 4 is longer than 9 digits"},
      {R"({"name":"n","version":"1","type":"string","list":["a"]})",
       "bad.json: \"version\" is not an integer"},
      {R"({"name":"n","type":"string","list":["a"],"matching_attributes":"x"})",
       "bad.json: \"matching_attributes\" is not an array"},
  };
  for (const auto& c : cases) {
    auto l = ParseWarninglist(c.json, "bad.json");
    ASSERT_FALSE(l.ok()) << c.json;
    EXPECT_EQ(l.status().code(), StatusCode::kInvalidInput);
    EXPECT_TRUE(l.status().message().starts_with(c.message))
        << c.json << " -> " << l.status().message();
  }
}

TEST(WarninglistParse, EnforcesLimits) {
  const std::string long_entry(kMaxWarninglistEntryBytes + 1, 'a');
  auto l = ParseWarninglist(ListJson("string", {"ok", long_entry}), "f");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("entry 1 'aaaa"), std::string::npos);
  EXPECT_NE(l.status().message().find("longer than 2048 bytes"),
            std::string::npos);

  const std::string long_regex(kMaxWarninglistRegexBytes + 1, 'a');
  l = ParseWarninglist(ListJson("regex", {long_regex}), "f");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("regex longer than 256 bytes"),
            std::string::npos);

  std::vector<std::string> many(kMaxWarninglistRegexEntries + 1, "a");
  l = ParseWarninglist(ListJson("regex", many), "f");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("at most 1000 entries"),
            std::string::npos);

  const std::string long_name(kMaxWarninglistTextBytes + 1, 'n');
  l = ParseWarninglist(ListJson("string", {"a"}, {}, long_name), "f");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("\"name\" is longer than"),
            std::string::npos);

  std::string huge(kMaxWarninglistFileBytes + 1, ' ');
  l = ParseWarninglist(huge, "f");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("larger than"), std::string::npos);
}

TEST(WarninglistParse, MissingFileIsNotFound) {
  auto l = LoadWarninglistFile("/nonexistent/list.json");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kNotFound);
}

// ---- matching --------------------------------------------------------------

TEST(WarninglistMatchTest, StringIsExactAndCaseInsensitiveForDomains) {
  auto set = SetOf(ListJson("string", {"Example.COM", "http://a.example/X",
                                       "d41d8cd98f00b204e9800998ecf8427e"}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "example.com"),
            "Example.COM");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "a.example.com"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl, "http://a.example/X"),
            "http://a.example/X");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl, "http://a.example/x"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kMd5,
                         "d41d8cd98f00b204e9800998ecf8427e"),
            "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(WarninglistMatchTest, Substring) {
  auto set = SetOf(ListJson("substring", {"AmazonAWS", "cdn."}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain,
                         "ec2-1-2-3-4.compute.amazonaws.com"),
            "AmazonAWS");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl, "https://cdn.x.org/a"),
            "cdn.");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "evil.example"), "-");
}

TEST(WarninglistMatchTest, HostnameExactUsesHostOfUrlsAndEmails) {
  auto set = SetOf(ListJson("hostname", {"github.com", "mail.ru."}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "github.com"),
            "github.com");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "www.github.com"),
            "github.com");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "evil.github.com"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl,
                         "https://user@www.github.com:443/evil/repo"),
            "github.com");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kEmail, "fhtgbbwi@mail.ru"),
            "mail.ru.");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "notgithub.com"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "1.2.3.4"), "-");
}

TEST(WarninglistMatchTest, HostnameSubdomainModeMatchesParents) {
  auto set = SetOf(ListJson("hostname", {"github.com"}),
                   HostnameMatch::kSubdomain);
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "a.b.github.com"),
            "github.com");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "notgithub.com"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "github.com.evil"), "-");
}

TEST(WarninglistMatchTest, CidrOverlapsBothWaysAndBareAddresses) {
  auto set = SetOf(ListJson(
      "cidr", {"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "fe80::1"}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "10.1.2.3"), "10.0.0.0/8");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "10.0.0.0/16"),
            "10.0.0.0/8");
  // A network that contains an entry overlaps it too.
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "8.0.0.0/6"),
            "10.0.0.0/8");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "192.0.2.0/24"),
            "192.0.2.7");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "192.0.2.8"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "11.0.0.1"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv6, "2001:db8:1::5"),
            "2001:db8::/32");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv6, "fe80::1"), "fe80::1");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv6, "fe80::2"), "-");
  // A URL whose host is an address is matched by that address.
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl, "http://10.9.9.9:8080/x"),
            "10.0.0.0/8");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl, "http://[2001:db8::1]/"),
            "2001:db8::/32");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "10.example"), "-");
}

TEST(WarninglistMatchTest, RegexWithMispDelimitersAndFlags) {
  auto set = SetOf(ListJson("regex", {"/^[a-z]+\\.example$/i", "evil"}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "ABC.example"),
            "/^[a-z]+\\.example$/i");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "x.abc.example"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kUrl, "http://a/evil/b"), "evil");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "good.org"), "-");
}

TEST(WarninglistMatchTest, RegexCountsUpToNineDigitsAreNotRefusedForLength) {
  // The digit bound refuses only numbers no real pattern has; ordinary
  // counts and escapes still compile and match.
  auto set = SetOf(ListJson(
      "regex", {"^[0-9]{1,3}\\.example$", "^x\\d{2}y$", "^z{2}$"}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "123.example"),
            "^[0-9]{1,3}\\.example$");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "1234.example"), "-");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "x42y"), "^x\\d{2}y$");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "zz"), "^z{2}$");
  // Nine digits pass the bound, and std::regex then refuses the count by
  // its own state limit, as a compile error rather than undefined behaviour.
  auto l = ParseWarninglist(ListJson("regex", {"a{999999999}"}), "f");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("regex does not compile"),
            std::string::npos)
      << l.status().message();
}

TEST(WarninglistMatchTest, HostileRegexIsPolynomial) {
  // Catastrophic for a backtracking matcher: (a*)*b against a long run of
  // a's. In Thompson mode it is linear; this test finishing is the check.
  auto set = SetOf(ListJson("regex", {"(a*)*b", "(a|aa)+c"}));
  const std::string value(kMaxRegexSubjectBytes, 'a');
  EXPECT_FALSE(set.Match(IndicatorType::kUrl, value).has_value());
  EXPECT_TRUE(set.Match(IndicatorType::kUrl, value + "b").has_value() ==
              false);  // longer than kMaxRegexSubjectBytes: not searched
  EXPECT_TRUE(set.Match(IndicatorType::kUrl, "aaab").has_value());
}

TEST(WarninglistMatchTest, BuildSkipsListsItCannotIndex) {
  Warninglist bad;
  bad.file = "bad.json";
  bad.name = "bad";
  bad.type = WarninglistType::kCidr;
  bad.entries = {"not-an-ip"};
  bad.applies_to = ~0u;
  std::vector<Warninglist> lists = {bad,
                                    Parsed(ListJson("string", {"x.example"}))};
  auto set = WarninglistSet::Build(std::move(lists));
  EXPECT_EQ(set.list_count(), 1u);
  ASSERT_EQ(set.problems().size(), 1u);
  EXPECT_EQ(set.problems()[0],
            "bad.json: list 'bad' skipped: entry 0 'not-an-ip' is not an IP "
            "address or network");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "x.example"),
            "x.example");
}

TEST(WarninglistMatchTest, MatchingAttributesRestrictTypes) {
  auto set = SetOf(ListJson("string", {"1.2.3.4", "a.example"}, {"ip-dst"}));
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kIpv4, "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(MatchedEntry(set, IndicatorType::kDomain, "a.example"), "-");
  // Only attributes we do not store: the list never matches.
  auto none = SetOf(ListJson("string", {"a.example"}, {"ssdeep"}));
  EXPECT_EQ(MatchedEntry(none, IndicatorType::kDomain, "a.example"), "-");
  // No matching_attributes: every type.
  auto all = SetOf(ListJson("string", {"a.example"}));
  EXPECT_EQ(MatchedEntry(all, IndicatorType::kDomain, "a.example"),
            "a.example");
}

TEST(WarninglistMatchTest, MatchAllReportsEveryListInOrder) {
  std::vector<Warninglist> lists = {
      Parsed(ListJson("cidr", {"10.0.0.0/8"}, {}, "first")),
      Parsed(ListJson("string", {"nothing"}, {}, "second")),
      Parsed(ListJson("cidr", {"10.1.0.0/16"}, {}, "third"))};
  auto set = WarninglistSet::Build(std::move(lists));
  auto all = set.MatchAll(IndicatorType::kIpv4, "10.1.2.3");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (WarninglistMatch{"first", "10.0.0.0/8"}));
  EXPECT_EQ(all[1], (WarninglistMatch{"third", "10.1.0.0/16"}));
  EXPECT_EQ(set.Match(IndicatorType::kIpv4, "10.1.2.3")->list, "first");
}

TEST(WarninglistMatchTest, EmptySetMatchesNothing) {
  WarninglistSet set;
  EXPECT_FALSE(set.Match(IndicatorType::kIpv4, "10.0.0.1").has_value());
  EXPECT_EQ(set.list_count(), 0u);
}

// ---- directories -----------------------------------------------------------

class WarninglistDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wl_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST_F(WarninglistDirTest, LoadsEveryJsonFileInNameOrder) {
  Write("b.json", ListJson("string", {"x.example"}, {}, "B"));
  Write("a.json", ListJson("string", {"x.example"}, {}, "A"));
  Write("notes.txt", "not a list");
  auto set = LoadWarninglistDir(dir_, HostnameMatch::kExact);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ((*set)->list_names(), (std::vector<std::string>{"A", "B"}));
}

TEST_F(WarninglistDirTest, ReportsEveryBrokenFile) {
  Write("a.json", "{");
  Write("b.json", ListJson("cidr", {"10.0.0.0/33"}));
  Write("c.json", ListJson("string", {"ok"}));
  auto set = LoadWarninglistDir(dir_, HostnameMatch::kExact);
  ASSERT_FALSE(set.ok());
  const std::string& m = set.status().message();
  EXPECT_NE(m.find((dir_ / "a.json").string() + ": not valid JSON"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find((dir_ / "b.json").string() +
                   ": entry 0 '10.0.0.0/33': not an IP address"),
            std::string::npos)
      << m;
}

TEST_F(WarninglistDirTest, MissingDirectoryIsNotFoundAndEmptyPathIsEmpty) {
  auto set = LoadWarninglistDir(dir_ / "nope", HostnameMatch::kExact);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kNotFound);
  auto empty = LoadWarninglistDir("", HostnameMatch::kExact);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->list_count(), 0u);
}

// ---- real lists and real data ---------------------------------------------

TEST(WarninglistReal, EveryRealFileParses) {
  struct Expect {
    std::string file;
    WarninglistType type;
    size_t entries;
  };
  const std::vector<Expect> expected = {
      {"empty-hashes.json", WarninglistType::kString, 6},
      {"public-dns-v4.json", WarninglistType::kCidr, 62745},
      {"rfc1918.json", WarninglistType::kCidr, 3},
      {"rfc5735.json", WarninglistType::kCidr, 15},
      {"tranco10k.json", WarninglistType::kHostname, 10000},
  };
  for (const auto& e : expected) {
    auto l = LoadWarninglistFile(kListDir + "/" + e.file);
    ASSERT_TRUE(l.ok()) << e.file << ": " << l.status().message();
    EXPECT_EQ(l->type, e.type) << e.file;
    EXPECT_EQ(l->entries.size(), e.entries) << e.file;
    EXPECT_FALSE(l->name.empty());
  }
  auto set = LoadWarninglistDir(kListDir, HostnameMatch::kExact);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ((*set)->list_count(), 5u);
  EXPECT_EQ((*set)->entry_count(), 6u + 62745 + 3 + 15 + 10000);
}

class WarninglistRealData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto exact = LoadWarninglistDir(kListDir, HostnameMatch::kExact);
    ASSERT_TRUE(exact.ok()) << exact.status().message();
    exact_ = *exact;
    auto sub = LoadWarninglistDir(kListDir, HostnameMatch::kSubdomain);
    ASSERT_TRUE(sub.ok());
    subdomain_ = *sub;
  }
  static inline std::shared_ptr<const WarninglistSet> exact_, subdomain_;
};

TEST_F(WarninglistRealData, PublicResolversInIpsumAreCaught) {
  int public_dns = 0, private_or_special = 0;
  for (const auto& ip : ReadLines(kRealDir + "ipv4.txt")) {
    for (const auto& m : exact_->MatchAll(IndicatorType::kIpv4, ip)) {
      if (m.list.find("DNS resolvers") != std::string::npos) ++public_dns;
      if (m.list.find("RFC") != std::string::npos) ++private_or_special;
    }
  }
  // README cross-checks: 48 public resolvers, nothing private or special.
  EXPECT_EQ(public_dns, 48);
  EXPECT_EQ(private_or_special, 0);
  auto m = exact_->Match(IndicatorType::kIpv4, "50.116.33.209");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->entry, "50.116.33.209");
}

TEST_F(WarninglistRealData, TrancoHostnamesMatchExactlyByDefault) {
  int exact = 0, subdomain = 0;
  for (const auto& d : ReadLines(kRealDir + "domains.txt")) {
    if (exact_->Match(IndicatorType::kDomain, d)) ++exact;
    if (subdomain_->Match(IndicatorType::kDomain, d)) ++subdomain;
  }
  // README: 0 exact tranco entries; 12,020 are subdomains of one (phishing
  // on free hosting, e.g. xfinityverifynow.weebly.com). Exact matching
  // (plus "www.") keeps them shareable; a www.-prefixed one is rare.
  EXPECT_LE(exact, 20);
  EXPECT_GE(subdomain, 12020);
  EXPECT_FALSE(exact_->Match(IndicatorType::kDomain,
                             "xfinityverifynow.weebly.com"));
  EXPECT_TRUE(subdomain_->Match(IndicatorType::kDomain,
                                "xfinityverifynow.weebly.com"));
  // Gamaredon lists legitimate services as IoCs (README).
  EXPECT_EQ(exact_->Match(IndicatorType::kDomain, "t.me")->entry, "t.me");
  EXPECT_EQ(exact_->Match(IndicatorType::kDomain, "telegra.ph")->entry,
            "telegra.ph");
}

TEST_F(WarninglistRealData, EmptyFileHashesAndPrivateRanges) {
  EXPECT_EQ(exact_
                ->Match(IndicatorType::kSha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
                        "91b7852b855")
                ->list,
            "List of known hashes for empty files");
  auto m = exact_->Match(IndicatorType::kIpv4, "10.1.2.3");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->entry, "10.0.0.0/8");
  // Real malware hashes are not flagged.
  int hits = 0;
  for (const auto& h : ReadLines(kRealDir + "hashes.txt")) {
    auto v = DetectAndNormalize(h);
    if (v.ok() && exact_->Match(v->type, v->value)) ++hits;
  }
  EXPECT_EQ(hits, 0);
}

}  // namespace
}  // namespace caravan::protocol
