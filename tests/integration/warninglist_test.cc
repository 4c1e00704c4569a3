// Warninglists end to end (docs/warninglists.md): real caravand processes
// with the real MISP lists from shared/testdata/real/warninglists, driven
// through the CLI. A match is flagged (query/show/--json show it), refused
// with on_match = "refuse" unless --force, a broken list stops the daemon
// at start (exit 78) and is refused on reload, and in a federation a
// flagged record is withheld (audited with its rule) while a forced one
// arrives.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kLists =
    fs::path(CARAVAN_TESTDATA_DIR) / "real" / "warninglists";
const std::string kRfc1918 = "List of RFC 1918 CIDR blocks";
const std::string kTranco = "Top 10K most-used sites from Tranco";

void InstallLists(const fs::path& node_dir,
                  const std::vector<std::string>& files) {
  for (const auto& f : files) {
    fs::copy_file(kLists / f, node_dir / "warninglists" / f,
                  fs::copy_options::overwrite_existing);
  }
}

// Replaces `from` by `to` in the node's caravand.toml.
void EditConfig(const TestNode& node, const std::string& from,
                const std::string& to) {
  std::string text = ReadFile(node.config());
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "no '" << from << "' in the config";
  text.replace(at, from.size(), to);
  WriteFile(node.config(), text);
}

// The first indicator `caravan query VALUE --json` finds; null when none
// (exit 3).
json QueryOne(const TestNode& node, const std::string& value) {
  CommandResult r = node.Cli({"query", value, "--json"});
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.Describe();
  json doc = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc["indicators"].empty()) return nullptr;
  return doc["indicators"][0];
}

class WarninglistNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<TestNode>();
    ASSERT_EQ(node_->init_result().exit_code, 0)
        << node_->init_result().Describe();
    ASSERT_TRUE(fs::is_directory(node_->dir() / "warninglists"))
        << "caravan init creates the warninglists directory";
    InstallLists(node_->dir(), {"rfc1918.json", "tranco10k.json"});
  }
  void TearDown() override {
    if (node_ && node_->running()) {
      EXPECT_EQ(node_->Stop(), 0) << node_->LogText();
    }
  }
  void Start() {
    std::string why;
    ASSERT_TRUE(node_->Start(&why)) << why;
  }
  std::unique_ptr<TestNode> node_;
};

TEST_F(WarninglistNodeTest, MatchIsFlaggedAndShownByQueryAndShow) {
  ASSERT_NO_FATAL_FAILURE(Start());
  CommandResult r = node_->Cli({"submit", "ipv4", "10.1.2.3"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.err.find("matches warninglist '" + kRfc1918 +
                       "' (entry 10.0.0.0/8): flagged"),
            std::string::npos)
      << r.err;
  std::string id = r.out.substr(0, r.out.find('\n'));

  json ind = QueryOne(*node_, "10.1.2.3");
  ASSERT_TRUE(ind.is_object());
  EXPECT_EQ(ind["warninglist"],
            (json{{"name", kRfc1918}, {"entry", "10.0.0.0/8"},
                  {"forced", false}}));

  // Hostname list: a URL on a top site is flagged by its host.
  r = node_->Cli({"submit", "url", "hxxps://www.github[.]com/x/y", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json submitted = json::parse(r.out);
  EXPECT_EQ(submitted["warninglist"]["name"], kTranco);
  EXPECT_EQ(submitted["warninglist"]["entry"], "github.com");

  // An ordinary value is not flagged.
  ASSERT_EQ(node_->Cli({"submit", "domain", "evil-c2.example"}).exit_code, 0);
  EXPECT_TRUE(QueryOne(*node_, "evil-c2.example")["warninglist"].is_null());

  // The table output and `show` name list and entry.
  r = node_->Cli({"query", "10.1.2.3"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("warninglist: " + kRfc1918 + " (10.0.0.0/8)"),
            std::string::npos)
      << r.out;
  r = node_->Cli({"show", id});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("warninglist: " + kRfc1918 +
                       " (10.0.0.0/8): not shared automatically"),
            std::string::npos)
      << r.out;

  // policy explain names the rule that keeps it home.
  json explain =
      node_->CliJson({"policy", "explain", "--to", "KZ", "ipv4", "10.1.2.3"});
  EXPECT_EQ(explain["decision"], "withhold") << explain.dump();
  EXPECT_EQ(explain["rule"]["key"], "warninglist:" + kRfc1918);
  EXPECT_EQ(explain["warninglist"]["entry"], "10.0.0.0/8");

  // The flag is audited.
  json audit = node_->CliJson({"audit"});
  int flags = 0;
  for (const auto& e : audit["entries"]) {
    if (e["action"] == "warninglist-flag" && e["subject"] == id) {
      EXPECT_EQ(e["detail"]["entry"], "10.0.0.0/8");
      ++flags;
    }
  }
  EXPECT_EQ(flags, 1) << audit.dump();
}

TEST_F(WarninglistNodeTest, RefuseModeNeedsForce) {
  ASSERT_NO_FATAL_FAILURE(
      EditConfig(*node_, "on_match = \"flag\"", "on_match = \"refuse\""));
  ASSERT_NO_FATAL_FAILURE(Start());
  CommandResult r = node_->Cli({"submit", "ipv4", "10.1.2.3"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_NE(r.err.find("matches warninglist '" + kRfc1918 +
                       "' (entry 10.0.0.0/8); use --force to submit anyway"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(QueryOne(*node_, "10.1.2.3").is_null());

  r = node_->Cli({"submit", "ipv4", "10.1.2.3", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.err.find("stored with --force"), std::string::npos) << r.err;
  json ind = QueryOne(*node_, "10.1.2.3");
  ASSERT_TRUE(ind.is_object());
  EXPECT_EQ(ind["warninglist"]["forced"], true);
  EXPECT_NE(node_->Cli({"query", "10.1.2.3"}).out.find("forced"),
            std::string::npos);

  // Bulk: the matching line is rejected with its line number, the rest
  // are stored; with --force all are.
  const fs::path file = node_->root() / "bulk.txt";
  WriteFile(file, "192.168.7.7\n203.0.113.9\nt.me\n");
  r = node_->Cli({"submit", "--file", file.string()});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();  // two lines refused
  EXPECT_NE(r.err.find(file.string() + ":1: matches warninglist '" +
                       kRfc1918 + "'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(file.string() + ":3: matches warninglist '" + kTranco +
                       "' (entry t.me)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("1 stored, 0 unchanged, 2 rejected"),
            std::string::npos)
      << r.out;
  r = node_->Cli({"submit", "--file", file.string(), "--force", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json totals = json::parse(r.out);
  EXPECT_EQ(totals["stored"], 2);
  EXPECT_EQ(totals["flagged"], 0);  // forced ones are not "flagged"
  EXPECT_EQ(QueryOne(*node_, "t.me")["warninglist"]["forced"], true);
}

TEST_F(WarninglistNodeTest, BrokenListStopsStartAndIsRefusedOnReload) {
  WriteFile(node_->dir() / "warninglists" / "broken.json",
            R"({"name": "x", "type": "cidr", "list": ["10.0.0.0/8", "nope"]})");
  node_->Spawn();
  auto status = node_->WaitForDaemonExit(kReadyTimeout);
  ASSERT_TRUE(status.has_value()) << "caravand started with a broken list";
  EXPECT_EQ(*status, 78);
  EXPECT_NE(node_->LogText().find("broken.json: entry 1 'nope': not an IP "
                                  "address or CIDR network"),
            std::string::npos)
      << node_->LogText();

  fs::remove(node_->dir() / "warninglists" / "broken.json");
  ASSERT_NO_FATAL_FAILURE(Start());
  // A broken file on reload: the running lists stay.
  WriteFile(node_->dir() / "warninglists" / "broken.json", "{");
  (void)node_->Cli({"policy", "reload"});
  EXPECT_NE(node_->LogText().find("warninglists reload refused"),
            std::string::npos)
      << node_->LogText();
  ASSERT_EQ(node_->Cli({"submit", "ipv4", "172.16.0.1"}).exit_code, 0);
  EXPECT_EQ(QueryOne(*node_, "172.16.0.1")["warninglist"]["entry"],
            "172.16.0.0/12");
}

// Two nodes: a flagged record stays home (audited with its rule), a forced
// one and an ordinary one arrive, and the receiving node flags what
// matches its own lists.
TEST(WarninglistFederationTest, FlaggedIsWithheldForcedArrives) {
  FedNode uz("CERT-UZ", "UZ");
  FedNode kz("CERT-KZ", "KZ");
  ASSERT_TRUE(uz.ok()) << uz.why();
  ASSERT_TRUE(kz.ok()) << kz.why();
  InstallLists(uz.node().dir(), {"rfc1918.json"});
  InstallLists(kz.node().dir(), {"tranco10k.json"});
  uz.WritePolicy("kz.toml",
                 "applies_to = [\"KZ\"]\n[outbound]\nshare = true\n"
                 "max_tlp = \"amber\"\n");
  std::string why;
  ASSERT_TRUE(uz.Start(&why)) << why;
  ASSERT_TRUE(kz.Start(&why)) << why;
  Connect(uz, kz);

  auto submit = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"submit"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = uz.Cli(argv);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out.substr(0, r.out.find('\n'));
  };
  const std::string flagged = submit({"ipv4", "10.1.2.3"});
  submit({"ipv4", "10.2.2.2", "--force"});
  submit({"ipv4", "198.51.100.7"});
  // Not on UZ's lists, on KZ's: arrives and is flagged there.
  submit({"domain", "telegra.ph"});

  ASSERT_TRUE(WaitFor([&] { return uz.Settled("CERT-KZ"); }))
      << uz.PeerState("CERT-KZ").dump();
  ASSERT_TRUE(WaitFor([&] {
    return !kz.Lookup("10.2.2.2").is_null() &&
           !kz.Lookup("198.51.100.7").is_null() &&
           !kz.Lookup("telegra.ph").is_null();
  })) << "forced and ordinary records did not arrive";
  EXPECT_TRUE(kz.Lookup("10.1.2.3").is_null())
      << "a flagged record left the node";
  EXPECT_EQ(kz.Lookup("telegra.ph")["warninglist"]["name"], kTranco);
  EXPECT_TRUE(kz.Lookup("198.51.100.7")["warninglist"].is_null());

  bool withheld = false;
  for (const auto& e : uz.Audit(10000, "CERT-KZ")) {
    if (e["action"] == "withhold" && e["subject"] == flagged) {
      EXPECT_EQ(e["detail"]["rule"]["key"], "warninglist:" + kRfc1918);
      withheld = true;
    }
  }
  EXPECT_TRUE(withheld) << "no withhold audit entry for the flagged record";

  // Forcing it later releases it.
  ASSERT_EQ(uz.Cli({"submit", "ipv4", "10.1.2.3", "--force"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return !kz.Lookup("10.1.2.3").is_null(); }))
      << "a record forced after the fact stayed withheld";
  EXPECT_EQ(uz.Stop(), 0) << uz.node().LogText();
  EXPECT_EQ(kz.Stop(), 0) << kz.node().LogText();
}

}  // namespace
}  // namespace caravan::integration
