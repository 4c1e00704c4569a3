// The caravan CLI against a real caravand on one node: init, single and
// bulk submit, queries, revoke, sight, audit, export, restart.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

#include "tests/integration/harness.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

const fs::path kRealData = fs::path(CARAVAN_TESTDATA_DIR) / "real";

unsigned Mode(const fs::path& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

size_t CountNonBlank(const std::vector<std::string>& lines) {
  return std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
    return !l.empty() && l[0] != '#';
  });
}

// Stderr lines of a bulk submit that report a rejected line of `source`:
// "SOURCE:LINE: reason" (a leading '\r' from the progress line allowed).
std::set<uint64_t> ReportedLines(const std::string& err,
                                 const std::string& source) {
  std::set<uint64_t> lines;
  std::regex re("^\r?" + std::regex_replace(source, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                R"(:([0-9]+): \S.*$)");
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, re)) lines.insert(std::stoull(m[1]));
  }
  return lines;
}

// ---------------------------------------------------------------- init

TEST(InitTest, CreatesNodeFilesWithPrivateKeyModes) {
  TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  EXPECT_NE(node.init_result().out.find("identity key: caravan:"),
            std::string::npos)
      << node.init_result().out;
  for (const char* f : {"caravand.toml", "identity.key", "link.key",
                        "caravan.db", "roster.toml", "policies/default.toml"}) {
    EXPECT_TRUE(fs::exists(node.dir() / f)) << f;
  }
  EXPECT_EQ(Mode(node.dir() / "identity.key"), 0600u);
  EXPECT_EQ(Mode(node.dir() / "link.key"), 0600u);
  EXPECT_EQ(Mode(node.dir()), 0700u);
  EXPECT_EQ(Mode(node.database()) & 0077, 0u) << "database readable by others";
  const std::string policy = ReadFile(node.dir() / "policies/default.toml");
  EXPECT_NE(policy.find("share = false"), std::string::npos)
      << "default policy must deny outbound sharing";
}

TEST(InitTest, JsonOutputNamesKeyAndConfig) {
  TempDir tmp;
  CommandResult r = RunProgram({CaravanPath(), "init", (tmp.path() / "n").string(),
                         "--name", "CERT-KZ", "--country", "KZ", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["country"], "KZ");
  EXPECT_EQ(doc["name"], "CERT-KZ");
  EXPECT_EQ(doc["key"].get<std::string>().rfind("caravan:", 0), 0u);
  EXPECT_EQ(doc["config"], (tmp.path() / "n" / "caravand.toml").string());
}

TEST(InitTest, RefusesNonEmptyDirectory) {
  TempDir tmp;
  WriteFile(tmp.path() / "precious.txt", "keep me\n");
  CommandResult r = RunProgram({CaravanPath(), "init", tmp.path().string(), "--name",
                         "CERT-UZ", "--country", "UZ"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(tmp.path() / "precious.txt"), "keep me\n");
  EXPECT_FALSE(fs::exists(tmp.path() / "caravand.toml"));
  EXPECT_FALSE(fs::exists(tmp.path() / "identity.key"));
}

TEST(InitTest, RejectsBadCountryAndName) {
  TempDir tmp;
  const std::string dir = (tmp.path() / "n").string();
  for (const std::string country : {"uz", "UZB", "U1", ""}) {
    CommandResult r = RunProgram({CaravanPath(), "init", dir, "--name", "CERT-UZ",
                           "--country", country});
    EXPECT_EQ(r.exit_code, 4) << country << ": " << r.Describe();
    EXPECT_NE(r.err.find("--country"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir)) << "a refused init created " << dir;
  }
  for (const std::string& name :
       {std::string(), std::string(" CERT"), std::string(65, 'x'),
        std::string("bad\x01name")}) {
    CommandResult r = RunProgram({CaravanPath(), "init", dir, "--name", name,
                           "--country", "UZ"});
    EXPECT_EQ(r.exit_code, 4) << "'" << name << "': " << r.Describe();
    EXPECT_NE(r.err.find("--name"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir));
  }
  CommandResult missing = RunProgram({CaravanPath(), "init", dir, "--name", "X"});
  EXPECT_EQ(missing.exit_code, 2) << "missing --country is a usage error";
}

// ------------------------------------------------------- single submit

using SubmitTest = RunningNodeTest;

TEST_F(SubmitTest, DefangedValuesAreStoredRefangedAndFoundEitherWay) {
  struct Case {
    std::string type, input, stored;
  };
  const std::vector<Case> cases = {
      {"ipv4", "1.2.3[.]4", "1.2.3.4"},
      {"url", "hxxp://evil[.]example/a", "http://evil.example/a"},
      {"email", "bad[at]evil[.]example", "bad@evil.example"},
      {"domain", "b\xC3\xBC" "cher[.]example", "xn--bcher-kva.example"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    const std::string id = Submit(c.type, c.input);
    ASSERT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{64}"))) << id;
    for (const std::string& form : {c.stored, c.input}) {
      auto found = Query({form});
      ASSERT_EQ(found.size(), 1u) << "query " << form;
      EXPECT_EQ(found[0]["id"], id);
      EXPECT_EQ(found[0]["value"], c.stored);
      EXPECT_EQ(found[0]["type"], c.type);
    }
  }
  // The Unicode form of the IDN finds the A-label.
  auto idn = Query({"b\xC3\xBC" "cher.example"});
  ASSERT_EQ(idn.size(), 1u);
  EXPECT_EQ(idn[0]["value"], "xn--bcher-kva.example");
  // Something never submitted is "not found" (exit 3).
  CommandResult none = node_->Cli({"query", "192.0.2.77"});
  EXPECT_EQ(none.exit_code, 3) << none.Describe();
  EXPECT_EQ(Counts()["indicators"], 4);
}

TEST_F(SubmitTest, IndicatorJsonHasEveryContractField) {
  const std::string id =
      Submit("domain", "c2.evil.example",
             {"--tlp", "green", "--confidence", "80", "--tag", "phishing",
              "--tag", "attack:T1566", "--description", "seen in a lure",
              "--valid-until", "30d"});
  auto found = Query({"c2.evil.example"});
  ASSERT_EQ(found.size(), 1u);
  const auto& ind = found[0];
  for (const char* field :
       {"id", "type", "value", "tlp", "confidence", "tags", "description",
        "origin", "origin_name", "origin_key", "revision", "created",
        "valid_until", "revoked", "verified", "received_from"}) {
    EXPECT_TRUE(ind.contains(field)) << "missing field " << field;
  }
  auto key = node_->CliJson({"key", "show"});
  EXPECT_EQ(ind["id"], id);
  EXPECT_EQ(ind["type"], "domain");
  EXPECT_EQ(ind["value"], "c2.evil.example");
  EXPECT_EQ(ind["tlp"], "green");
  EXPECT_EQ(ind["confidence"], 80);
  std::vector<std::string> tags = ind["tags"];
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<std::string>{"attack:T1566", "phishing"}));
  EXPECT_EQ(ind["description"], "seen in a lure");
  EXPECT_EQ(ind["origin"], "UZ");
  EXPECT_EQ(ind["origin_name"], "CERT-UZ");
  EXPECT_EQ(ind["origin_key"], key["key"]);
  EXPECT_EQ(ind["revision"], 1);
  EXPECT_TRUE(std::regex_match(ind["created"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << ind["created"];
  ASSERT_TRUE(ind["valid_until"].is_string()) << ind.dump();
  EXPECT_GT(ind["valid_until"].get<std::string>(),
            ind["created"].get<std::string>());
  EXPECT_EQ(ind["revoked"], false);
  EXPECT_EQ(ind["verified"], true);
  EXPECT_TRUE(ind["received_from"].is_null());
  // Defaults from caravand.toml when the submission says nothing.
  Submit("ipv4", "198.51.100.7");
  auto plain = Query({"198.51.100.7"});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0]["tlp"], "amber");
  EXPECT_EQ(plain[0]["confidence"], 50);
  EXPECT_TRUE(plain[0]["valid_until"].is_null());
}

TEST_F(SubmitTest, IpQueriesFindContainingNetworks) {
  Submit("ipv4", "10.0.0.0/8");
  Submit("ipv4", "10.1.2.0/24");
  Submit("ipv4", "10.1.2.3");
  Submit("ipv4", "172.16.0.1");
  Submit("domain", "ten.example");

  auto values = [](const nlohmann::json& list) {
    std::set<std::string> v;
    for (const auto& i : list) v.insert(i["value"].get<std::string>());
    return v;
  };
  EXPECT_EQ(values(Query({"10.1.2.3"})),
            (std::set<std::string>{"10.0.0.0/8", "10.1.2.0/24", "10.1.2.3"}));
  EXPECT_EQ(values(Query({"10.1.9.9"})),
            (std::set<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(values(Query({"--cidr", "10.0.0.0/8"})),
            (std::set<std::string>{"10.0.0.0/8", "10.1.2.0/24", "10.1.2.3"}));
  EXPECT_EQ(values(Query({"--cidr", "10.1.2.0/24"})),
            (std::set<std::string>{"10.1.2.0/24", "10.1.2.3"}));
  // A network written unmasked is stored masked and found by any address.
  Submit("ipv4", "192.168.7.9/16");
  EXPECT_EQ(values(Query({"192.168.200.1"})),
            (std::set<std::string>{"192.168.0.0/16"}));
  CommandResult bad = node_->Cli({"query", "--cidr", "10.0.0.0/33"});
  EXPECT_EQ(bad.exit_code, 4) << bad.Describe();
}

TEST_F(SubmitTest, IdenticalResubmitIsUnchangedAndNewContextIsARevision) {
  auto first = node_->CliJson({"submit", "ipv4", "203.0.113.9", "--tlp",
                               "green"});
  ASSERT_FALSE(first.is_null());
  EXPECT_EQ(first["revision"], 1);
  EXPECT_EQ(first["unchanged"], false);
  auto again = node_->CliJson({"submit", "ipv4", "203.0.113[.]9", "--tlp",
                               "green"});
  EXPECT_EQ(again["id"], first["id"]);
  EXPECT_EQ(again["revision"], 1);
  EXPECT_EQ(again["unchanged"], true);
  auto changed = node_->CliJson({"submit", "ipv4", "203.0.113.9", "--tlp",
                                 "amber"});
  EXPECT_EQ(changed["id"], first["id"]);
  EXPECT_EQ(changed["revision"], 2);
  EXPECT_EQ(changed["unchanged"], false);

  auto show = node_->CliJson({"show", first["id"]});
  ASSERT_EQ(show["revisions"].size(), 2u);
  EXPECT_EQ(show["indicator"]["tlp"], "amber");
  EXPECT_EQ(show["indicator"]["revision"], 2);
  auto counts = Counts();
  EXPECT_EQ(counts["indicators"], 1);
  EXPECT_EQ(counts["records"], 2);
}

TEST_F(SubmitTest, BadTypeTlpOrValueIsRejectedAndStoresNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"submit", "ipv5", "1.2.3.4"}, "unknown type 'ipv5'"},
      {{"submit", "ipv4", "1.2.3.4", "--tlp", "purple"}, "unknown TLP 'purple'"},
      {{"submit", "ipv4", "999.1.1.1"}, "999.1.1.1"},
      {{"submit", "sha256", "abc"}, ""},
      {{"submit", "ipv4", "1.2.3.4", "--reshare", "everyone"}, "reshare"},
  };
  for (const auto& c : cases) {
    CommandResult r = node_->Cli(c.args);
    EXPECT_EQ(r.exit_code, 4) << c.args[1] << " " << c.args[2] << ": "
                              << r.Describe();
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("caravan: ", 0), 0u) << r.err;
  }
  CommandResult usage = node_->Cli({"submit", "ipv4", "1.2.3.4", "extra"});
  EXPECT_EQ(usage.exit_code, 2) << usage.Describe();
  CommandResult range = node_->Cli({"submit", "ipv4", "1.2.3.4",
                                    "--confidence", "101"});
  EXPECT_EQ(range.exit_code, 2) << range.Describe();
  EXPECT_EQ(Counts()["indicators"], 0);
  EXPECT_EQ(Counts()["records"], 0);
}

// ---------------------------------------------------------- bulk submit

using BulkTest = RunningNodeTest;

TEST_F(BulkTest, RealFeedsAreStoredWhole) {
  uint64_t expected_new = 0;
  for (const char* name : {"cves.txt", "hashes.txt", "urls.txt"}) {
    SCOPED_TRACE(name);
    const fs::path path = kRealData / name;
    const size_t lines = CountNonBlank(ReadLines(path));
    CommandResult r = node_->Cli({"submit", "--file", path.string(), "--json"});
    // Any rejected line makes the exit code 4 (docs/cli.md).
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 4) << r.Describe();
    auto sum = nlohmann::json::parse(r.out);
    EXPECT_EQ(r.exit_code, sum["rejected"].get<uint64_t>() > 0 ? 4 : 0);
    EXPECT_EQ(sum["lines"], lines);
    EXPECT_EQ(sum["rejected"].get<uint64_t>(),
              ReportedLines(r.err, path.string()).size())
        << "every rejected line is reported as FILE:LINE: reason\n"
        << r.err;
    EXPECT_EQ(sum["stored"].get<uint64_t>() + sum["unchanged"].get<uint64_t>() +
                  sum["rejected"].get<uint64_t>(),
              lines);
    // Real feeds are clean: at most a handful of lines may be refused.
    EXPECT_LE(sum["rejected"].get<uint64_t>(), lines / 100) << r.err;
    expected_new += sum["stored"].get<uint64_t>();
  }
  // 10k IPv4 addresses through stdin (kept small: CI runs this under ASan).
  const auto ipv4 = ReadLines(kRealData / "ipv4.txt", 10000);
  std::string input;
  for (const auto& l : ipv4) input += l + "\n";
  CommandResult r = node_->Cli({"submit", "--file", "-", "--json"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto sum = nlohmann::json::parse(r.out);
  EXPECT_EQ(sum["lines"], 10000);
  EXPECT_EQ(sum["rejected"], 0) << r.err;
  const std::set<std::string> distinct(ipv4.begin(), ipv4.end());
  EXPECT_EQ(sum["stored"], distinct.size());
  EXPECT_EQ(sum["unchanged"], 10000 - distinct.size());
  expected_new += sum["stored"].get<uint64_t>();

  auto counts = Counts();
  EXPECT_EQ(counts["indicators"], expected_new);
  EXPECT_EQ(counts["records"], expected_new);
  EXPECT_EQ(counts["own"], expected_new);
  // Spot checks: first and last of each feed are queryable.
  for (const auto& v : {ipv4.front(), ipv4.back()}) {
    EXPECT_EQ(Query({v}).size(), 1u) << v;
  }
  auto cve = Query({ReadLines(kRealData / "cves.txt", 1)[0]});
  ASSERT_EQ(cve.size(), 1u);
  EXPECT_EQ(cve[0]["type"], "cve");
  auto hash_type = Query({"--type", "sha256", "--limit", "5"});
  EXPECT_EQ(hash_type.size(), 5u);
  // Resubmitting a whole feed changes nothing.
  CommandResult again = node_->Cli(
      {"submit", "--file", (kRealData / "cves.txt").string(), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(nlohmann::json::parse(again.out)["stored"], 0);
  EXPECT_EQ(Counts()["records"], expected_new);
}

TEST_F(BulkTest, CsvBadLinesAreReportedAndGoodLinesStored) {
  const fs::path csv = node_->root() / "feed.csv";
  WriteFile(csv,
            "type,value,tlp,confidence,tags,description\n"   // 1
            "ipv4,198.51.100.1,green,70,scan;ssh,brute force\n"  // 2
            "domain,evil[.]example,amber,60,,\n"              // 3
            "ipv4,999.1.1.1,green,70,,\n"                     // 4 bad value
            "ftp,x.example,green,70,,\n"                      // 5 bad type
            "url,hxxps://evil[.]example/x,purple,70,,\n"      // 6 bad TLP
            "ipv4,198.51.100.2,green,abc,,\n"                 // 7 bad conf
            "\"ipv4\",\"198.51.100.3\",clear,90,\"a;b\",\"quoted, comma\"\n"
            "sha256,"                                          // 9
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ",red,100,,\n"
            "ipv4,198.51.100.4,green,70\n");                  // 10 short row
  CommandResult r = node_->Cli({"submit", "--file", csv.string(), "--json"});
  // Some lines are rejected: exit 4 (docs/cli.md).
  ASSERT_EQ(r.exit_code, 4) << r.Describe();
  auto sum = nlohmann::json::parse(r.out);
  const std::set<uint64_t> bad = ReportedLines(r.err, csv.string());
  EXPECT_TRUE(bad.count(4) && bad.count(5) && bad.count(6) && bad.count(7))
      << r.err;
  EXPECT_EQ(bad.count(2) + bad.count(3) + bad.count(8) + bad.count(9), 0u)
      << r.err;
  EXPECT_EQ(sum["rejected"].get<uint64_t>(), bad.size());
  EXPECT_EQ(sum["lines"], 9);
  const uint64_t stored = sum["stored"];
  EXPECT_EQ(stored, 9 - bad.size());
  EXPECT_EQ(Counts()["indicators"], stored);

  auto quoted = Query({"198.51.100.3"});
  ASSERT_EQ(quoted.size(), 1u);
  EXPECT_EQ(quoted[0]["description"], "quoted, comma");
  EXPECT_EQ(quoted[0]["tlp"], "clear");
  EXPECT_EQ(quoted[0]["confidence"], 90);
  auto tagged = Query({"198.51.100.1"});
  ASSERT_EQ(tagged.size(), 1u);
  std::vector<std::string> tags = tagged[0]["tags"];
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<std::string>{"scan", "ssh"}));
  EXPECT_EQ(Query({"evil.example"}).size(), 1u);
  EXPECT_EQ(Query({"--tag", "scan"}).size(), 1u);
}

TEST_F(BulkTest, JsonlBadLinesAreReportedAndGoodLinesStored) {
  const fs::path jsonl = node_->root() / "feed.jsonl";
  WriteFile(jsonl,
            R"({"type":"ipv4","value":"192.0.2.10","tlp":"green"})" "\n"  // 1
            R"({"value":"hxxp://bad[.]example/p","tags":["t1","t2"]})" "\n"
            R"({"type":"ipv4","value":"192.0.2.11")" "\n"       // 3 broken
            R"({"type":"ipv4","value":"192.0.2.12","colour":"red"})" "\n"
            R"({"type":"cve","value":"CVE-2024-3094","confidence":95})" "\n"
            R"({"type":"ipv4","value":"192.0.2.13","tlp":"ultra"})" "\n"
            R"({"type":"md5","value":"zz"})" "\n"               // 7 bad value
            R"({"type":"ipv4","value":"192.0.2.14","confidence":"high"})" "\n"
            "not json at all\n"                                 // 9
            R"({"type":"asn","value":"AS64496"})" "\n");        // 10
  CommandResult r = node_->Cli({"submit", "--file", jsonl.string(), "--json"});
  // Some lines are rejected: exit 4 (docs/cli.md).
  ASSERT_EQ(r.exit_code, 4) << r.Describe();
  auto sum = nlohmann::json::parse(r.out);
  const std::set<uint64_t> bad = ReportedLines(r.err, jsonl.string());
  EXPECT_EQ(bad, (std::set<uint64_t>{3, 4, 6, 7, 8, 9})) << r.err;
  EXPECT_EQ(sum["lines"], 10);
  EXPECT_EQ(sum["rejected"], 6);
  EXPECT_EQ(sum["stored"], 4);
  EXPECT_EQ(Counts()["indicators"], 4);
  auto cve = Query({"CVE-2024-3094"});
  ASSERT_EQ(cve.size(), 1u);
  EXPECT_EQ(cve[0]["confidence"], 95);
  EXPECT_EQ(Query({"http://bad.example/p"}).size(), 1u);
  EXPECT_TRUE(Query({"192.0.2.12"}).empty());

  // A file with nothing good at all is "rejected input".
  const fs::path all_bad = node_->root() / "bad.txt";
  WriteFile(all_bad, "not-an-indicator\n???\n");
  CommandResult none = node_->Cli({"submit", "--file", all_bad.string()});
  EXPECT_EQ(none.exit_code, 4) << none.Describe();
  EXPECT_EQ(ReportedLines(none.err, all_bad.string()),
            (std::set<uint64_t>{1, 2}));
  CommandResult missing = node_->Cli(
      {"submit", "--file", (node_->root() / "nope.txt").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing.Describe();
  EXPECT_EQ(Counts()["indicators"], 4);
}

// ------------------------------------------------- revoke, sight, audit

using LifecycleTest = RunningNodeTest;

TEST_F(LifecycleTest, RevokedIndicatorIsHiddenButKept) {
  const std::string id = Submit("domain", "phish.example");
  const std::string other = Submit("domain", "other.example");
  CommandResult rv =
      node_->Cli({"revoke", id, "--reason", "false positive", "--json"});
  ASSERT_EQ(rv.exit_code, 0) << rv.Describe();
  auto rv_doc = nlohmann::json::parse(rv.out);
  EXPECT_EQ(rv_doc["id"], id);
  EXPECT_EQ(rv_doc["revision"], 2);

  EXPECT_TRUE(Query({"phish.example"}).empty());
  auto all = Query({"--type", "domain"});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["id"], other);
  auto with = Query({"phish.example", "--include-revoked"});
  ASSERT_EQ(with.size(), 1u);
  EXPECT_EQ(with[0]["revoked"], true);
  EXPECT_EQ(with[0]["revoke_reason"], "false positive");
  EXPECT_EQ(with[0]["revision"], 2);
  EXPECT_EQ(with[0]["verified"], true);

  auto show = node_->CliJson({"show", id});
  ASSERT_EQ(show["revisions"].size(), 2u);
  for (const auto& rev : show["revisions"]) {
    EXPECT_EQ(rev["verified"], true) << rev.dump();
  }
  EXPECT_EQ(show["revisions"][0]["revision"].get<int>() +
                show["revisions"][1]["revision"].get<int>(),
            3);
  CommandResult text = node_->Cli({"show", id});
  EXPECT_NE(text.out.find("REVOKED:     false positive"), std::string::npos)
      << text.out;

  CommandResult twice = node_->Cli({"revoke", id, "--reason", "again"});
  EXPECT_EQ(twice.exit_code, 4) << twice.Describe();
  EXPECT_NE(twice.err.find("already revoked"), std::string::npos);
  CommandResult unknown =
      node_->Cli({"revoke", std::string(64, '0'), "--reason", "x"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.Describe();
  CommandResult not_id = node_->Cli({"revoke", "xyz", "--reason", "x"});
  EXPECT_EQ(not_id.exit_code, 4) << not_id.Describe();
  CommandResult no_reason = node_->Cli({"revoke", id});
  EXPECT_EQ(no_reason.exit_code, 2) << no_reason.Describe();
  CommandResult show_unknown = node_->Cli({"show", std::string(64, 'a')});
  EXPECT_EQ(show_unknown.exit_code, 3) << show_unknown.Describe();
  EXPECT_EQ(Counts()["records"], 3);
}

TEST_F(LifecycleTest, SightingsByValueAndById) {
  const std::string id = Submit("url", "http://drop.example/payload.exe");
  CommandResult by_value = node_->Cli(
      {"sight", "hxxp://drop[.]example/payload.exe", "--note", "proxy log"});
  ASSERT_EQ(by_value.exit_code, 0) << by_value.Describe();
  EXPECT_NE(by_value.out.find(id), std::string::npos) << by_value.out;
  auto by_id = node_->CliJson({"sight", id, "--note", "edr alert"});
  EXPECT_EQ(by_id["id"], id);

  auto show = node_->CliJson({"show", id});
  ASSERT_EQ(show["sightings"].size(), 2u);
  std::set<std::string> notes;
  for (const auto& s : show["sightings"]) {
    notes.insert(s["note"].get<std::string>());
    EXPECT_EQ(s["actor"], Actor());
    EXPECT_TRUE(s["time"].is_string());
  }
  EXPECT_EQ(notes, (std::set<std::string>{"proxy log", "edr alert"}));
  CommandResult text = node_->Cli({"show", id});
  EXPECT_NE(text.out.find("sightings:"), std::string::npos) << text.out;

  CommandResult unknown = node_->Cli({"sight", "never.example"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.Describe();
  CommandResult garbage = node_->Cli({"sight", "%%%"});
  EXPECT_EQ(garbage.exit_code, 4) << garbage.Describe();
  // A sighting is not a revision.
  EXPECT_EQ(node_->CliJson({"show", id})["revisions"].size(), 1u);
}

TEST_F(LifecycleTest, AuditLogRecordsActorsAndDetectsTampering) {
  const std::string id = Submit("ipv4", "192.0.2.200");
  ASSERT_EQ(node_->Cli({"revoke", id, "--reason", "test"}).exit_code, 0);
  ASSERT_EQ(node_->Cli({"sight", id}).exit_code, 0);

  auto audit = node_->CliJson({"audit"});
  ASSERT_TRUE(audit.contains("entries"));
  std::map<std::string, nlohmann::json> by_action;
  for (const auto& e : audit["entries"]) by_action[e["action"]] = e;
  for (const char* action : {"start", "submit", "revoke", "sight"}) {
    ASSERT_TRUE(by_action.count(action)) << "no '" << action << "' entry in "
                                         << audit.dump();
  }
  EXPECT_EQ(by_action["start"]["actor"], "node");
  for (const char* action : {"submit", "revoke", "sight"}) {
    EXPECT_EQ(by_action[action]["actor"], Actor()) << action;
  }
  EXPECT_EQ(by_action["sight"]["subject"], id);
  const uint64_t submit_seq = by_action["submit"]["seq"];

  auto verify = node_->CliJson({"audit", "verify"});
  EXPECT_EQ(verify["ok"], true);
  EXPECT_EQ(verify["entries"], audit["entries"].size());

  // Edit one entry behind the daemon's back.
  ASSERT_EQ(node_->Stop(), 0) << node_->LogText();
  CommandResult tamper = RunProgram(
      {"/usr/bin/python3", "-c",
       "import sqlite3,sys\n"
       "db=sqlite3.connect(sys.argv[1])\n"
       "n=db.execute(\"UPDATE audit SET detail=detail||' ' WHERE seq=?\","
       "(int(sys.argv[2]),)).rowcount\n"
       "db.commit()\n"
       "sys.exit(0 if n==1 else 1)\n",
       node_->database().string(), std::to_string(submit_seq)});
  ASSERT_EQ(tamper.exit_code, 0) << tamper.Describe();

  std::string why;
  ASSERT_TRUE(node_->Start(&why)) << why;
  CommandResult broken = node_->Cli({"audit", "verify"});
  EXPECT_NE(broken.exit_code, 0) << broken.Describe();
  EXPECT_NE(broken.err.find("audit entry " + std::to_string(submit_seq)),
            std::string::npos)
      << broken.err;
  // The indicators themselves are intact and still verify.
  auto still = Query({"192.0.2.200", "--include-revoked"});
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(still[0]["verified"], true);
}

TEST_F(LifecycleTest, RestartKeepsEverything) {
  const std::string a = Submit("ipv4", "192.0.2.1", {"--tlp", "green"});
  const std::string b = Submit("domain", "keep.example");
  ASSERT_EQ(node_->Cli({"revoke", b, "--reason", "done"}).exit_code, 0);
  ASSERT_EQ(node_->Cli({"sight", a, "--note", "n1"}).exit_code, 0);
  const auto key = node_->CliJson({"key", "show"});
  const auto before = node_->Cli({"export", "--format", "csv",
                                  "--include-revoked"});
  const auto audit_before = node_->CliJson({"audit"});

  Restart();

  EXPECT_EQ(node_->CliJson({"key", "show"})["key"], key["key"]);
  EXPECT_EQ(node_->Cli({"export", "--format", "csv", "--include-revoked"}).out,
            before.out);
  auto show = node_->CliJson({"show", a});
  EXPECT_EQ(show["sightings"].size(), 1u);
  EXPECT_EQ(show["indicator"]["verified"], true);
  EXPECT_EQ(node_->CliJson({"show", b})["revisions"].size(), 2u);
  auto audit_after = node_->CliJson({"audit"});
  // The old entries are unchanged; a stop and a new start were appended.
  ASSERT_GT(audit_after["entries"].size(), audit_before["entries"].size());
  for (size_t i = 0; i < audit_before["entries"].size(); ++i) {
    EXPECT_EQ(audit_after["entries"][i], audit_before["entries"][i]);
  }
  EXPECT_EQ(node_->CliJson({"audit", "verify"})["ok"], true);
  auto status = node_->CliJson({"status"});
  EXPECT_EQ(status["counts"]["indicators"], 2);
  EXPECT_EQ(status["node"]["name"], "CERT-UZ");
}

// ---------------------------------------------------------------- export

using ExportTest = RunningNodeTest;

TEST_F(ExportTest, CsvAndPlainWithTlpFilter) {
  Submit("ipv4", "192.0.2.1", {"--tlp", "clear"});
  Submit("ipv4", "192.0.2.2", {"--tlp", "green", "--tag", "a"});
  Submit("domain", "x.example", {"--tlp", "amber"});
  Submit("url", "http://x.example/a,b", {"--tlp", "red"});
  const std::string revoked = Submit("domain", "gone.example");
  ASSERT_EQ(node_->Cli({"revoke", revoked, "--reason", "r"}).exit_code, 0);

  CommandResult csv = node_->Cli({"export", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.Describe();
  std::vector<std::string> rows;
  std::istringstream in(csv.out);
  for (std::string l; std::getline(in, l);) rows.push_back(l);
  ASSERT_EQ(rows.size(), 5u) << csv.out;
  EXPECT_EQ(rows[0],
            "type,value,tlp,confidence,tags,origin,created,valid_until,"
            "revoked,id");
  EXPECT_NE(csv.out.find("url,\"http://x.example/a,b\",red,"),
            std::string::npos)
      << "a value with a comma is quoted: " << csv.out;
  EXPECT_EQ(csv.out.find("gone.example"), std::string::npos);

  CommandResult plain = node_->Cli({"export", "--format", "plain"});
  ASSERT_EQ(plain.exit_code, 0);
  std::set<std::string> values;
  std::istringstream pin(plain.out);
  for (std::string l; std::getline(pin, l);) values.insert(l);
  EXPECT_EQ(values, (std::set<std::string>{"192.0.2.1", "192.0.2.2",
                                           "x.example",
                                           "http://x.example/a,b"}));
  CommandResult green =
      node_->Cli({"export", "--format", "plain", "--max-tlp", "green"});
  ASSERT_EQ(green.exit_code, 0);
  EXPECT_EQ(green.out, plain.out.find("192.0.2.1\n") < plain.out.find("192.0.2.2\n")
                           ? "192.0.2.1\n192.0.2.2\n"
                           : "192.0.2.2\n192.0.2.1\n");
  CommandResult typed =
      node_->Cli({"export", "--format", "plain", "--type", "domain"});
  EXPECT_EQ(typed.out, "x.example\n");
  CommandResult with_revoked = node_->Cli(
      {"export", "--format", "plain", "--include-revoked", "--type", "domain"});
  EXPECT_NE(with_revoked.out.find("gone.example"), std::string::npos);

  CommandResult bad_tlp =
      node_->Cli({"export", "--format", "plain", "--max-tlp", "pink"});
  EXPECT_EQ(bad_tlp.exit_code, 4) << bad_tlp.Describe();
  CommandResult bad_format = node_->Cli({"export", "--format", "xml"});
  EXPECT_EQ(bad_format.exit_code, 4) << bad_format.Describe();
}

}  // namespace
}  // namespace caravan::integration
