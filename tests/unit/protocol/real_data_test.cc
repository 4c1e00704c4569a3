// Every line of the real indicator corpus (shared/testdata/real, see its
// README) either parses to the expected type or is refused for a stated,
// correct reason. Counts are pinned so a parser change that silently
// accepts or drops real data fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "protocol/indicator_parse.h"

namespace caravan::protocol {
namespace {

const std::string kRealDir = std::string(CARAVAN_TESTDATA_DIR) + "/real/";

std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(kRealDir + name);
  EXPECT_TRUE(in.good()) << "cannot open " << kRealDir + name;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Outcome tally: "type" for accepted values, "error message" for refusals.
struct Tally {
  std::map<std::string, int> types;
  std::map<std::string, int> errors;  // full message -> count
  std::map<std::string, std::string> value_of;  // raw -> "type value"

  void Add(const std::string& raw) {
    auto r = DetectAndNormalize(raw);
    if (r.ok()) {
      ++types[std::string(TypeName(r->type))];
      value_of[raw] = std::string(TypeName(r->type)) + " " + r->value;
    } else {
      ++errors[r.status().message()];
      value_of[raw] = "error " + r.status().message();
    }
  }
  int Errors() const {
    int n = 0;
    for (const auto& [m, c] : errors) n += c;
    return n;
  }
  std::string Dump() const {
    std::string s;
    for (const auto& [t, c] : types) s += t + "=" + std::to_string(c) + " ";
    for (const auto& [m, c] : errors) s += "\n  ERR x" + std::to_string(c) + " " + m;
    return s;
  }
};

TEST(RealData, Ipv4AllAccepted) {
  const auto lines = ReadLines("ipv4.txt");
  ASSERT_EQ(lines.size(), 120430u);
  Tally t;
  for (const auto& l : lines) {
    t.Add(l);
    // Already canonical: normalization must not change a single byte.
    ASSERT_EQ(t.value_of[l], "ipv4 " + l);
  }
  EXPECT_EQ(t.types, (std::map<std::string, int>{{"ipv4", 120430}})) << t.Dump();
}

TEST(RealData, DomainsAllAccepted) {
  const auto lines = ReadLines("domains.txt");
  ASSERT_EQ(lines.size(), 100000u);
  Tally t;
  int underscores = 0, punycode = 0;
  for (const auto& l : lines) {
    t.Add(l);
    ASSERT_EQ(t.value_of[l], "domain " + l);  // published already normalized
    underscores += l.find('_') != std::string::npos;
    punycode += l.find("xn--") != std::string::npos;
  }
  EXPECT_EQ(t.types, (std::map<std::string, int>{{"domain", 100000}})) << t.Dump();
  EXPECT_EQ(underscores, 118);
  EXPECT_EQ(punycode, 1355);
}

TEST(RealData, HashesByLength) {
  const auto lines = ReadLines("hashes.txt");
  ASSERT_EQ(lines.size(), 16074u);
  Tally t;
  for (size_t i = 0; i < lines.size(); ++i) {
    t.Add(lines[i]);
    const char* want = i < 5358 ? "sha256 " : i < 2 * 5358 ? "sha1 " : "md5 ";
    std::string lower = lines[i];
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_EQ(t.value_of[lines[i]], want + lower) << "line " << i + 1;
  }
  EXPECT_EQ(t.types, (std::map<std::string, int>{
                         {"md5", 5358}, {"sha1", 5358}, {"sha256", 5358}}));
  // The one malformed upstream line (README) is refused for its length.
  auto bad = DetectAndNormalize("f0295f2e46cebffaf7892a5b33ba54122781c20bs");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not a hash (41 characters"),
            std::string::npos);
  auto as_sha1 = NormalizeValue(IndicatorType::kSha1,
                                "f0295f2e46cebffaf7892a5b33ba54122781c20bs");
  ASSERT_FALSE(as_sha1.ok());
  EXPECT_NE(as_sha1.status().message().find("non-hex character 's' at offset 40"),
            std::string::npos);
}

TEST(RealData, CvesAllAccepted) {
  const auto lines = ReadLines("cves.txt");
  ASSERT_EQ(lines.size(), 1404u);
  Tally t;
  for (const auto& l : lines) {
    t.Add(l);
    ASSERT_EQ(t.value_of[l], "cve " + l);
  }
  EXPECT_EQ(t.types, (std::map<std::string, int>{{"cve", 1404}}));
}

TEST(RealData, Urls) {
  const auto lines = ReadLines("urls.txt");
  ASSERT_EQ(lines.size(), 798u);
  Tally t;
  for (const auto& l : lines) t.Add(l);
  // 776 with a scheme + 2 scheme-less host:port / host/path MISP values
  // become URLs; the other 20 scheme-less MISP "url" values are a bare IP
  // (1) and bare host names (19). One URL names "localhost", which is not
  // an indicator anyone else can match.
  EXPECT_EQ(t.types, (std::map<std::string, int>{
                         {"domain", 19}, {"ipv4", 1}, {"url", 777}}))
      << t.Dump();
  EXPECT_EQ(t.errors,
            (std::map<std::string, int>{
                {"url: 'http://localhost/searchparser/index.php' is not a "
                 "domain (needs at least two labels)",
                 1}}))
      << t.Dump();
  EXPECT_EQ(t.value_of["hxxp://soligro.com/wp-includes/pomo/db.php"],
            "url http://soligro.com/wp-includes/pomo/db.php");
  EXPECT_EQ(t.value_of["https://82.118.236[.]23:8443/27c00829d57988279f3ec61a05dee75a"],
            "url https://82.118.236.23:8443/27c00829d57988279f3ec61a05dee75a");
  EXPECT_EQ(t.value_of["143.92.48.38"], "ipv4 143.92.48.38");
  EXPECT_EQ(t.value_of["now.asmkpo.com:80"], "url http://now.asmkpo.com:80");
  EXPECT_EQ(t.value_of["http://45.124.132.127/DOVIDNIK - (2018).zip"],
            "url http://45.124.132.127/DOVIDNIK%20-%20(2018).zip");
  int smb = 0;
  for (const auto& [raw, v] : t.value_of) smb += v.rfind("url smb://", 0) == 0;
  EXPECT_EQ(smb, 7);
}

// Candidate indicator tokens in an AsciiDoc report: the text of every
// `code` span and every bare token that is defanged, a URL, an e-mail, or
// hex of hash length, with AsciiDoc markup (`+...+`, table pipes) removed.
std::vector<std::string> AdocCandidates(const std::string& name) {
  std::vector<std::string> out;
  for (const std::string& line : ReadLines(name)) {
    std::string cleaned;
    for (char c : line) cleaned += (c == '|' || c == '`') ? ' ' : c;
    size_t i = 0;
    while (i < cleaned.size()) {
      while (i < cleaned.size() && std::isspace(static_cast<unsigned char>(cleaned[i]))) ++i;
      size_t j = i;
      while (j < cleaned.size() && !std::isspace(static_cast<unsigned char>(cleaned[j]))) ++j;
      std::string tok = cleaned.substr(i, j - i);
      i = j;
      while (!tok.empty() && tok.front() == '+') tok.erase(0, 1);
      while (!tok.empty() && tok.back() == '+') tok.pop_back();
      // AsciiDoc: "\https://..." escapes autolinking; "URL[text]" is a link.
      if (!tok.empty() && tok.front() == '\\') tok.erase(0, 1);
      if (tok.find("://") != std::string::npos && !tok.empty() && tok.back() == ']' &&
          tok.find('[') != std::string::npos && tok.find("[.]") == std::string::npos &&
          tok.find("[:]") == std::string::npos) {
        tok.erase(tok.find('['));
      }
      if (tok.empty()) continue;
      std::string lower = tok;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const bool defanged = lower.find("[.]") != std::string::npos ||
                            lower.find("[:]") != std::string::npos ||
                            lower.rfind("hxxp", 0) == 0;
      const bool url = lower.find("://") != std::string::npos;
      const bool email = tok.find('@') != std::string::npos;
      const bool hexlen = (tok.size() == 32 || tok.size() == 40 || tok.size() == 64) &&
                          std::all_of(tok.begin(), tok.end(), [](char c) {
                            return std::isxdigit(static_cast<unsigned char>(c));
                          });
      if (defanged || url || email || hexlen || tok == "N/A") out.push_back(tok);
    }
  }
  return out;
}

struct ReportExpectation {
  std::string file;
  std::map<std::string, int> types;
  std::map<std::string, int> errors;
};

TEST(RealData, IocReportsAdoc) {
  // Counts pinned after reading every refusal: "N/A" placeholders of the
  // gamaredon/turla tables, a typo'd IP in stantinko
  // ("195.226.218..234") and a URL on "localhost".
  const std::string na = "value: 'N/A' is not an indicator of any type";
  const std::vector<ReportExpectation> reports = {
      {"ioc-reports/eset_gamaredon_README.adoc",
       {{"domain", 28}, {"ipv4", 28}, {"sha1", 73}, {"url", 3}},
       {{na, 84}}},
      {"ioc-reports/eset_turla_README.adoc",
       {{"domain", 47}, {"email", 22}, {"ipv4", 12}, {"sha1", 132}, {"url", 58}},
       {{na, 22}}},
      {"ioc-reports/eset_stantinko_README.adoc",
       {{"domain", 41}, {"ipv4", 100}, {"sha1", 127}, {"url", 210}},
       {{"url: 'http://195.226.218..234:80' has an invalid IPv4 host (empty octet)", 1},
        {"url: 'http://localhost/searchparser/index.php' is not a domain (needs at "
         "least two labels)",
         1}}},
      {"ioc-reports/eset_moustachedbouncer_README.adoc",
       {{"domain", 6}, {"email", 4}, {"ipv4", 10}, {"sha1", 29}, {"url", 2}},
       {}},
  };
  std::map<std::string, std::string> seen;
  for (const auto& rep : reports) {
    Tally t;
    for (const auto& c : AdocCandidates(rep.file)) t.Add(c);
    EXPECT_EQ(t.types, rep.types) << rep.file << ": " << t.Dump();
    EXPECT_EQ(t.errors, rep.errors) << rep.file << ": " << t.Dump();
    seen.insert(t.value_of.begin(), t.value_of.end());
  }
  EXPECT_EQ(seen["nododru[.]ru"], "domain nododru.ru");
  EXPECT_EQ(seen["t[.]me"], "domain t.me");
  EXPECT_EQ(seen["5.252.178[.]140"], "ipv4 5.252.178.140");
  EXPECT_EQ(seen["DF1C0A70E7A02B839AB3AAC3FC410E61EEFB58EB"],
            "sha1 df1c0a70e7a02b839ab3aac3fc410e61eefb58eb");
  EXPECT_EQ(seen["admin@solidloop.org"], "email admin@solidloop.org");
  EXPECT_EQ(seen["fhtgbbwi@mail[.]ru"], "email fhtgbbwi@mail.ru");
  EXPECT_EQ(seen["updates.microsoft[.]com"], "domain updates.microsoft.com");
  // turla line 168 ends in a stray double backtick; the URL survives it.
  EXPECT_EQ(seen["hxxp://weandcats.com/wp-content/plugins/broken-link-checker/"
                 "modules/checkers/http-module.php"],
            "url http://weandcats.com/wp-content/plugins/broken-link-checker/"
            "modules/checkers/http-module.php");
  EXPECT_EQ(seen["hxxps://www.github.com/romochka-shevchenko-2015/rebranding"],
            "url https://www.github.com/romochka-shevchenko-2015/rebranding");

  // The CVE inside a detection name is found by pattern, and is in KEV.
  const std::regex cve_re("CVE-[0-9]{4}-[0-9]{4,}");
  std::set<std::string> cves;
  for (const auto& line : ReadLines("ioc-reports/eset_moustachedbouncer_README.adoc")) {
    for (std::sregex_iterator it(line.begin(), line.end(), cve_re), end; it != end; ++it) {
      auto r = NormalizeValue(IndicatorType::kCve, it->str());
      ASSERT_TRUE(r.ok()) << it->str();
      cves.insert(*r);
    }
  }
  EXPECT_EQ(cves, (std::set<std::string>{"CVE-2021-1732"}));
  const auto kev = ReadLines("cves.txt");
  EXPECT_NE(std::find(kev.begin(), kev.end(), "CVE-2021-1732"), kev.end());
}

TEST(RealData, IocReportMispEvent) {
  std::ifstream in(kRealDir +
                   "ioc-reports/eset_oceanlotus_oceanlotus-wateringhole-2018.misp.event.json");
  ASSERT_TRUE(in.good());
  const auto doc = nlohmann::json::parse(in);
  const auto& attrs = doc.at("response").at(0).at("Event").at("Attribute");
  Tally t;
  int composite = 0;
  for (const auto& a : attrs) {
    const std::string type = a.at("type").get<std::string>();
    const std::string value = a.at("value").get<std::string>();
    if (type == "comment") continue;
    if (type == "domain|ip") {
      ++composite;
      const size_t bar = value.find('|');
      ASSERT_NE(bar, std::string::npos) << value;
      t.Add(value.substr(0, bar));
      t.Add(value.substr(bar + 1));
      auto d = NormalizeValue(IndicatorType::kDomain, value.substr(0, bar));
      EXPECT_TRUE(d.ok()) << value;
    } else {
      t.Add(value);
      auto want = ParseTypeName(type);
      ASSERT_TRUE(want.has_value()) << type;
      auto r = DetectAndNormalize(value);
      ASSERT_TRUE(r.ok()) << value << ": " << r.status().message();
      EXPECT_EQ(r->type, *want) << value;
    }
  }
  EXPECT_EQ(composite, 49);
  // 49 composite pairs (domain + ip), 21 domains, 2 sha1, 1 url.
  EXPECT_EQ(t.types, (std::map<std::string, int>{
                         {"domain", 70}, {"ipv4", 49}, {"sha1", 2}, {"url", 1}}))
      << t.Dump();
  EXPECT_EQ(t.Errors(), 0) << t.Dump();
  EXPECT_EQ(t.value_of["arabica.podzone.net"], "domain arabica.podzone.net");
  EXPECT_EQ(t.value_of["178.128.103.24"], "ipv4 178.128.103.24");
}

}  // namespace
}  // namespace caravan::protocol
