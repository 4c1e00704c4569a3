// The CLI's id arguments through a real daemon: unique prefixes (git
// style) everywhere an id is taken, ambiguity listing the candidates,
// `revoke --value`, and quarantine decisions on several ids or on
// everything from one peer.
#include <gtest/gtest.h>

#include <map>

#include "protocol/config/roster_file.h"
#include "protocol/record_codec.h"
#include "tests/integration/federation_fixture.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

using IdPrefixTest = RunningNodeTest;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(IdPrefixTest, EveryIdArgumentTakesAUniquePrefix) {
  const std::string id = Submit("domain", "prefix.example");
  ASSERT_EQ(id.size(), 64u);
  const std::string prefix = id.substr(0, 8);

  auto show = node_->CliJson({"show", prefix});
  EXPECT_EQ(show["indicator"]["id"], id) << show.dump();
  // Upper case is the same id.
  std::string upper = prefix;
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(node_->CliJson({"show", upper})["indicator"]["id"], id);

  auto sight = node_->CliJson({"sight", prefix, "--note", "seen"});
  EXPECT_EQ(sight["id"], id) << sight.dump();
  auto explain = node_->CliJson({"policy", "explain", prefix, "--to", "KZ"});
  EXPECT_EQ(explain["id"], id) << explain.dump();
  auto revoke = node_->CliJson({"revoke", prefix, "--reason", "test"});
  EXPECT_EQ(revoke["id"], id) << revoke.dump();
  EXPECT_EQ(revoke["revision"], 2);

  CommandResult short_one = node_->Cli({"show", id.substr(0, 5)});
  EXPECT_EQ(short_one.exit_code, 4) << short_one.Describe();
  EXPECT_TRUE(Contains(short_one.err, "too short: give at least 6 hex"))
      << short_one.err;
  // A prefix no id starts with is "not found".
  const std::string other = id[0] == 'f' ? "000000" : "ffffff";
  CommandResult none = node_->Cli({"show", other});
  EXPECT_EQ(none.exit_code, 3) << none.Describe();
  EXPECT_TRUE(Contains(none.err, "no indicator id starts with '" + other + "'"))
      << none.err;
  CommandResult none_revoke = node_->Cli({"revoke", other, "--reason", "x"});
  EXPECT_EQ(none_revoke.exit_code, 3) << none_revoke.Describe();
}

// Two values whose ids (for this node's key) share their first six hex
// digits, found by hashing as the daemon does: a birthday search over a
// few thousand candidates.
std::pair<std::string, std::string> CollidingDomains(const std::string& key) {
  auto origin = protocol::ParsePublicKeyText(key);
  EXPECT_TRUE(origin.ok()) << key;
  if (!origin.ok()) return {};
  std::map<std::string, std::string> by_prefix;
  for (int i = 0; i < 1000000; ++i) {
    const std::string value = "c" + std::to_string(i) + ".example";
    const std::string hex = protocol::IdToHex(protocol::ComputeIndicatorId(
        *origin, protocol::IndicatorType::kDomain, value));
    auto [it, added] = by_prefix.emplace(hex.substr(0, 6), value);
    if (!added) return {it->second, value};
  }
  ADD_FAILURE() << "no two ids share six digits";
  return {};
}

TEST_F(IdPrefixTest, AmbiguousPrefixListsTheCandidates) {
  const std::string key = node_->CliJson({"key", "show"})["key"];
  const auto [first, second] = CollidingDomains(key);
  ASSERT_FALSE(first.empty());
  const std::string id1 = Submit("domain", first);
  const std::string id2 = Submit("domain", second);
  ASSERT_EQ(id1.substr(0, 6), id2.substr(0, 6));

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"show", id1.substr(0, 6)},
        std::vector<std::string>{"revoke", id1.substr(0, 6), "--reason", "x"},
        std::vector<std::string>{"sight", id1.substr(0, 6)}}) {
    CommandResult r = node_->Cli(args);
    EXPECT_EQ(r.exit_code, 4) << args[0] << ": " << r.Describe();
    EXPECT_TRUE(Contains(r.err, "id prefix '" + id1.substr(0, 6) +
                                    "' is ambiguous"))
        << r.err;
    EXPECT_TRUE(Contains(r.err, id1.substr(0, 16) + "  domain " + first))
        << r.err;
    EXPECT_TRUE(Contains(r.err, id2.substr(0, 16) + "  domain " + second))
        << r.err;
  }
  // Nothing was revoked or sighted by the refused calls.
  EXPECT_EQ(node_->CliJson({"show", id1})["revisions"].size(), 1u);
  EXPECT_TRUE(node_->CliJson({"show", id1})["sightings"].empty());

  // Enough digits to tell them apart resolve.
  size_t common = 0;
  while (id1[common] == id2[common]) ++common;
  auto show = node_->CliJson({"show", id2.substr(0, common + 1)});
  EXPECT_EQ(show["indicator"]["id"], id2);
}

TEST_F(IdPrefixTest, RevokeByValue) {
  const std::string id = Submit("ipv4", "192.0.2.7");
  // Defanged like everywhere else.
  auto revoked = node_->CliJson(
      {"revoke", "--value", "ipv4", "192[.]0[.]2[.]7", "--reason", "fp"});
  EXPECT_EQ(revoked["id"], id) << revoked.dump();
  EXPECT_EQ(revoked["revision"], 2);
  CommandResult again = node_->Cli(
      {"revoke", "--value", "ipv4", "192.0.2.7", "--reason", "fp"});
  EXPECT_EQ(again.exit_code, 4) << again.Describe();
  EXPECT_TRUE(Contains(again.err, "already revoked")) << again.err;

  CommandResult unknown = node_->Cli(
      {"revoke", "--value", "domain", "never.example", "--reason", "x"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.Describe();
  EXPECT_TRUE(Contains(unknown.err,
                       "this node made no domain indicator 'never.example'"))
      << unknown.err;
  CommandResult bad_type = node_->Cli(
      {"revoke", "--value", "ipv5", "192.0.2.7", "--reason", "x"});
  EXPECT_EQ(bad_type.exit_code, 4) << bad_type.Describe();
  CommandResult both = node_->Cli({"revoke", id, "--value", "ipv4",
                                   "192.0.2.7", "--reason", "x"});
  EXPECT_EQ(both.exit_code, 2) << both.Describe();
  CommandResult neither = node_->Cli({"revoke", "--reason", "x"});
  EXPECT_EQ(neither.exit_code, 2) << neither.Describe();
  EXPECT_TRUE(Contains(neither.err, "needs an ID or --value TYPE VALUE"));
}

using QuarantineCliTest = FederationFixture;

TEST_F(QuarantineCliTest, DecidesSeveralIdsOrEverythingFromOnePeer) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber");
  kz.ShareWith("UZ", "amber", "[inbound]\naccept = true\nquarantine = true\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(
        Submit(uz, {"domain", "held" + std::to_string(i) + ".example"}));
  }
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  auto held = [&] {
    return kz.CliJson({"quarantine", "list"})["indicators"].size();
  };
  ASSERT_EQ(held(), 5u);

  // Two by prefix in one call.
  auto approved = kz.CliJson({"quarantine", "approve", ids[0].substr(0, 10),
                              ids[1].substr(0, 7)});
  EXPECT_EQ(approved["ids"], (nlohmann::json{ids[0], ids[1]}))
      << approved.dump();
  EXPECT_EQ(held(), 3u);
  EXPECT_FALSE(kz.Lookup("held0.example").is_null());

  // One id not in quarantine: nothing is decided.
  CommandResult mixed =
      kz.Cli({"quarantine", "reject", ids[2], ids[0]});
  EXPECT_EQ(mixed.exit_code, 3) << mixed.Describe();
  EXPECT_EQ(held(), 3u);

  CommandResult no_from = kz.Cli({"quarantine", "reject", "--all"});
  EXPECT_EQ(no_from.exit_code, 2) << no_from.Describe();
  CommandResult nothing = kz.Cli({"quarantine", "reject"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.Describe();
  CommandResult stranger =
      kz.Cli({"quarantine", "reject", "--all", "--from", "CERT-XX"});
  EXPECT_EQ(stranger.exit_code, 3) << stranger.Describe();

  CommandResult all =
      kz.Cli({"quarantine", "reject", "--all", "--from", "CERT-UZ"});
  EXPECT_EQ(all.exit_code, 0) << all.Describe();
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 3) << all.out;
  EXPECT_EQ(held(), 0u);
  EXPECT_TRUE(kz.Lookup("held3.example").is_null());
  // Audited one entry per decision.
  size_t rejects = 0;
  for (const auto& e : kz.Audit()) {
    if (e["action"] == "quarantine-reject") ++rejects;
  }
  EXPECT_EQ(rejects, 3u);
}

}  // namespace
}  // namespace caravan::integration
