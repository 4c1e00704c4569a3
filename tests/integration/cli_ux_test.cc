// Operator-facing CLI behaviour through a real daemon: query pages with
// "N more: --after X", the status health headline and its exit code, and
// the audit filters and readable audit lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class CliUxTest : public RunningNodeTest {
 protected:
  // n domains p0.example ... in one bulk submit.
  void SubmitDomains(int n) {
    std::string input;
    for (int i = 0; i < n; ++i) {
      input += "p" + std::to_string(i) + ".example\n";
    }
    CommandResult r = node_->Cli(
        {"submit", "--file", "-", "--format", "txt", "--type", "domain"},
        input);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
};

TEST_F(CliUxTest, QueryPagesSayHowManyMoreAndWhereToGoOn) {
  ASSERT_NO_FATAL_FAILURE(SubmitDomains(25));
  CommandResult first =
      node_->Cli({"query", "--type", "domain", "--limit", "10"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  const auto lines = Lines(first.out);
  ASSERT_EQ(lines.size(), 12u) << first.out;  // header, 10 rows, the hint
  const std::string hint = lines.back();
  ASSERT_EQ(hint.rfind("15 more: --after ", 0), 0u) << hint;
  const std::string cursor = hint.substr(hint.rfind(' ') + 1);

  std::set<std::string> seen;
  auto page2 = node_->CliJson(
      {"query", "--type", "domain", "--limit", "10", "--after", cursor});
  EXPECT_EQ(page2["count"], 10);
  EXPECT_EQ(page2["more"], 5);
  ASSERT_TRUE(page2["next"].is_string()) << page2.dump();
  auto page3 = node_->CliJson({"query", "--type", "domain", "--limit", "10",
                               "--after", page2["next"].get<std::string>()});
  EXPECT_EQ(page3["count"], 5);
  EXPECT_EQ(page3["more"], 0);
  EXPECT_TRUE(page3["next"].is_null());
  for (const auto* page : {&page2, &page3}) {
    for (const auto& ind : (*page)["indicators"]) seen.insert(ind["value"]);
  }
  EXPECT_EQ(seen.size(), 15u);

  // A page that holds the rest exactly has no next and no hint.
  auto whole = node_->CliJson({"query", "--type", "domain", "--limit", "25"});
  EXPECT_EQ(whole["count"], 25);
  EXPECT_TRUE(whole["next"].is_null()) << whole.dump();
  CommandResult whole_text =
      node_->Cli({"query", "--type", "domain", "--limit", "25"});
  EXPECT_FALSE(Contains(whole_text.out, "more: --after")) << whole_text.out;

  CommandResult huge = node_->Cli({"query", "--limit", "1000000"});
  EXPECT_EQ(huge.exit_code, 2) << huge.Describe();
  EXPECT_TRUE(Contains(huge.err, "above the maximum of 10000")) << huge.err;
  CommandResult bad_cursor = node_->Cli({"query", "--after", "xyz"});
  EXPECT_EQ(bad_cursor.exit_code, 4) << bad_cursor.Describe();
}

TEST_F(CliUxTest, StatusHeadlineAndExitCodeFollowHealth) {
  CommandResult ok = node_->Cli({"status"});
  EXPECT_EQ(ok.exit_code, 0) << ok.Describe();
  EXPECT_EQ(Lines(ok.out).front(), "ok") << ok.out;
  EXPECT_EQ(node_->CliJson({"status"})["health"]["state"], "ok");

  // A policy reload refused: degraded, exit 1, the reason on line one.
  {
    std::ofstream broken(node_->dir() / "policies" / "broken.toml");
    broken << "[outbound\nshare = maybe\n";
  }
  CommandResult reload = node_->Cli({"policy", "reload"});
  ASSERT_EQ(reload.exit_code, 4) << reload.Describe();
  CommandResult degraded = node_->Cli({"status"});
  EXPECT_EQ(degraded.exit_code, 1) << degraded.Describe();
  EXPECT_EQ(Lines(degraded.out).front(),
            "degraded: policy reload refused (the previous set still runs)")
      << degraded.out;
  auto doc = node_->CliJson({"status"});  // --json: exit 0, state in it
  EXPECT_EQ(doc["health"]["state"], "degraded");
  EXPECT_EQ(doc["health"]["reasons"].size(), 1u) << doc.dump();

  // Fixed and reloaded: ok again.
  std::filesystem::remove(node_->dir() / "policies" / "broken.toml");
  ASSERT_EQ(node_->Cli({"policy", "reload"}).exit_code, 0);
  EXPECT_EQ(node_->Cli({"status"}).exit_code, 0);

  // A peer on the roster (a valid key nobody holds: the Ed25519 base
  // point, at a port nothing listens on) shows its health columns, sizes
  // in human units; down for less than the grace, it does not degrade.
  CommandResult added = node_->Cli(
      {"peers", "add", "CERT-KZ", "--country", "KZ", "--key",
       "caravan:WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY", "--endpoint",
       "127.0.0.1:9"});
  ASSERT_EQ(added.exit_code, 0) << added.Describe();
  auto peer = node_->CliJson({"peers", "list"})["peers"][0];
  EXPECT_EQ(peer["deferred"], 0) << peer.dump();
  EXPECT_TRUE(peer["deferred_retry_at"].is_null());
  EXPECT_TRUE(peer["last_handshake"].is_null());
  EXPECT_TRUE(peer.contains("last_error"));
  CommandResult table = node_->Cli({"peers", "list"});
  EXPECT_TRUE(Contains(table.out, "DEFERRED")) << table.out;
  EXPECT_TRUE(Contains(table.out, "LAST ERROR")) << table.out;
  EXPECT_TRUE(Contains(table.out, "0 B")) << table.out;
  EXPECT_EQ(node_->Cli({"status"}).exit_code, 0);
}

TEST_F(CliUxTest, AuditFiltersAndReadableLines) {
  const std::string a = Submit("domain", "audit-a.example");
  const std::string b = Submit("domain", "audit-b.example");
  ASSERT_EQ(node_->Cli({"revoke", a.substr(0, 8), "--reason", "fp"}).exit_code,
            0);
  ASSERT_EQ(node_->Cli({"sight", b.substr(0, 8)}).exit_code, 0);

  auto entries = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "audit");
    return node_->CliJson(args)["entries"];
  };
  auto revokes = entries({"--action", "revoke"});
  ASSERT_EQ(revokes.size(), 1u) << revokes.dump();
  EXPECT_EQ(revokes[0]["subject"], a);
  auto about_b = entries({"--id", b.substr(0, 10)});
  ASSERT_FALSE(about_b.empty());
  for (const auto& e : about_b) EXPECT_EQ(e["subject"], b) << e.dump();
  std::set<std::string> actions;
  for (const auto& e : about_b) actions.insert(e["action"]);
  EXPECT_TRUE(actions.count("sight")) << about_b.dump();
  EXPECT_TRUE(entries({"--action", "revoke", "--id", b.substr(0, 10)}).empty());
  // Time windows: everything is from the last hour, nothing from before.
  const size_t all = entries({}).size();
  EXPECT_EQ(entries({"--since", "1h"}).size(), all);
  EXPECT_TRUE(entries({"--until", "1h"}).empty());
  EXPECT_EQ(entries({"--since", "1h", "--until", "2099-01-01T00:00:00Z"}).size(),
            all);
  CommandResult short_id = node_->Cli({"audit", "--id", "abc"});
  EXPECT_EQ(short_id.exit_code, 4) << short_id.Describe();
  CommandResult bad_until = node_->Cli({"audit", "--until", "soonish"});
  EXPECT_EQ(bad_until.exit_code, 4) << bad_until.Describe();

  // For people: aligned columns, 12-digit ids, no raw JSON braces.
  CommandResult text = node_->Cli({"audit", "--action", "revoke"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  const auto lines = Lines(text.out);
  ASSERT_EQ(lines.size(), 2u) << text.out;
  EXPECT_EQ(lines[1].find(a.substr(0, 12)), lines[0].find("SUBJECT"))
      << text.out;
  EXPECT_FALSE(Contains(lines[1], a)) << "full id printed: " << lines[1];
  EXPECT_FALSE(Contains(lines[1], "{")) << lines[1];
  EXPECT_TRUE(Contains(lines[1], "reason=fp")) << lines[1];
}

}  // namespace
}  // namespace caravan::integration
