// Leaving (issue 16, docs/federation.md "Leaving"): three real nodes. KZ
// holds records from UZ and CN and its own; removing UZ keeps UZ's
// records (signed, out of export, never relayed: rule removed_member);
// --purge deletes exactly UZ's records and nothing else, audited with
// counts, and the audit chain still verifies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using json = nlohmann::json;

class MemberLeaveTest : public FederationFixture {
 protected:
  // UZ and CN share with KZ; KZ shares with nobody yet. UZ's records may
  // travel on (reshare federation), so only the removal keeps them home.
  void SetUpThree() {
    uz_ = &Make("CERT-UZ", "UZ");
    kz_ = &Make("CERT-KZ", "KZ");
    cn_ = &Make("CERT-CN", "CN");
    uz_->ShareWith("KZ", "amber", "reshare = \"federation\"\n");
    cn_->ShareWith("KZ", "amber");
    ASSERT_NO_FATAL_FAILURE(StartAll());
    Connect(*uz_, *kz_);
    Connect(*kz_, *cn_);
    // CN knows UZ's key (a relayed UZ record would verify there) but they
    // do not link.
    AddPeer(*cn_, *uz_, /*dial=*/false);
    for (const char* v : {"10.1.0.1", "10.1.0.2", "10.1.0.3"}) {
      uz_ids_.insert(Submit(*uz_, {"ipv4", v, "--tlp", "green", "--reshare",
                                   "federation"}));
    }
    for (const char* v : {"10.2.0.1", "10.2.0.2"}) {
      Submit(*cn_, {"ipv4", v, "--tlp", "green"});
    }
    Submit(*kz_, {"ipv4", "10.3.0.1", "--tlp", "green"});
    ASSERT_NO_FATAL_FAILURE(WaitSettled(*uz_, *kz_));
    ASSERT_NO_FATAL_FAILURE(WaitSettled(*cn_, *kz_));
    ASSERT_EQ(kz_->Count(), 6);
  }

  std::set<std::string> Exported(bool include_removed) const {
    std::vector<std::string> args = {"export", "--format", "plain"};
    if (include_removed) args.push_back("--include-removed");
    CommandResult r = kz_->Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    size_t start = 0;
    while (start < r.out.size()) {
      size_t end = r.out.find('\n', start);
      if (end == std::string::npos) end = r.out.size();
      if (end > start) out.insert(r.out.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }

  // KZ's audit entries of `action`.
  std::vector<json> AuditOf(const std::string& action) const {
    std::vector<json> out;
    for (const auto& e : kz_->Audit()) {
      if (e.value("action", "") == action) out.push_back(e);
    }
    return out;
  }

  FedNode* uz_ = nullptr;
  FedNode* kz_ = nullptr;
  FedNode* cn_ = nullptr;
  std::set<std::string> uz_ids_;
  const std::set<std::string> all_ = {"10.1.0.1", "10.1.0.2", "10.1.0.3",
                                      "10.2.0.1", "10.2.0.2", "10.3.0.1"};
  const std::set<std::string> without_uz_ = {"10.2.0.1", "10.2.0.2",
                                             "10.3.0.1"};
};

TEST_F(MemberLeaveTest, RemoveKeepsRecordsOutOfExportAndNeverRelaysThem) {
  ASSERT_NO_FATAL_FAILURE(SetUpThree());
  const size_t audit_before = kz_->Audit().size();

  CommandResult removed = kz_->Cli({"peers", "remove", "CERT-UZ"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find("kept its 3 indicators"), std::string::npos)
      << removed.out;
  EXPECT_NE(removed.out.find("--purge"), std::string::npos) << removed.out;

  // Kept, with their signatures; out of export unless asked for.
  EXPECT_EQ(kz_->Count(), 6);
  json kept = kz_->Lookup("10.1.0.1");
  ASSERT_FALSE(kept.is_null());
  EXPECT_EQ(kept["verified"], true);
  EXPECT_EQ(Exported(/*include_removed=*/false), without_uz_);
  EXPECT_EQ(Exported(/*include_removed=*/true), all_);

  // The decision function names the rule, for every recipient.
  json explained = kz_->CliJson(
      {"policy", "explain", *uz_ids_.begin(), "--to", "CN"});
  EXPECT_EQ(explained["decision"], "withhold") << explained.dump();
  EXPECT_EQ(explained["rule"]["key"], "removed_member") << explained.dump();

  // KZ now shares with CN: its own and CN-bound records flow, UZ's never.
  kz_->ShareWith("CN", "amber", "reshare = \"federation\"\n");
  CommandResult reload = kz_->Cli({"policy", "reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  ASSERT_TRUE(WaitFor([&] { return !cn_->Lookup("10.3.0.1").is_null(); }))
      << kz_->node().LogText();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(*kz_, *cn_));
  for (const char* v : {"10.1.0.1", "10.1.0.2", "10.1.0.3"}) {
    EXPECT_TRUE(cn_->Lookup(v).is_null()) << v << " left KZ after removal";
  }
  size_t withheld = 0;
  for (const auto& e : AuditOf("withhold")) {
    if (e.dump().find("removed_member") != std::string::npos) ++withheld;
  }
  EXPECT_EQ(withheld, 3u) << "each UZ record withheld from CN by the rule";

  // One removal entry with the counts; the chain still verifies.
  auto entries = AuditOf("peer-remove");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_NE(entries[0].dump().find("\"indicators\":3"), std::string::npos)
      << entries[0].dump();
  EXPECT_GT(kz_->Audit().size(), audit_before);
  EXPECT_TRUE(kz_->AuditVerifies());
}

TEST_F(MemberLeaveTest, PurgeDeletesExactlyTheMembersRecords) {
  ASSERT_NO_FATAL_FAILURE(SetUpThree());
  // A sighting on a UZ record goes with it; one on CN's stays.
  ASSERT_EQ(kz_->Cli({"sight", "10.1.0.1"}).exit_code, 0);
  ASSERT_EQ(kz_->Cli({"sight", "10.2.0.1"}).exit_code, 0);
  const json cn_before = kz_->Lookup("10.2.0.1");

  // A purge never happens unconfirmed: no terminal, no --yes, no change.
  CommandResult unconfirmed =
      kz_->Cli({"peers", "remove", "CERT-UZ", "--purge"});
  EXPECT_EQ(unconfirmed.exit_code, 2) << unconfirmed.out;
  EXPECT_NE(unconfirmed.err.find("--yes"), std::string::npos)
      << unconfirmed.err;
  EXPECT_EQ(kz_->Count(), 6);
  EXPECT_TRUE(AuditOf("peer-purge").empty());

  json purged =
      kz_->CliJson({"peers", "remove", "CERT-UZ", "--purge", "--yes"});
  EXPECT_EQ(purged["purged"], true) << purged.dump();
  EXPECT_EQ(purged["deleted"]["indicators"], 3) << purged.dump();
  EXPECT_EQ(purged["deleted"]["records"], 3) << purged.dump();
  EXPECT_EQ(purged["deleted"]["sightings"], 1) << purged.dump();

  EXPECT_EQ(kz_->Count(), 3);
  EXPECT_EQ(Exported(/*include_removed=*/true), without_uz_);
  EXPECT_TRUE(kz_->Lookup("10.1.0.1").is_null());
  const json cn_after = kz_->Lookup("10.2.0.1");
  ASSERT_FALSE(cn_after.is_null());
  EXPECT_EQ(cn_after["revision"], cn_before["revision"]);
  EXPECT_EQ(cn_after["verified"], true);
  json sightings = kz_->CliJson({"show", cn_after["id"].get<std::string>()});
  EXPECT_NE(sightings.dump().find("sighting"), std::string::npos)
      << sightings.dump();

  auto entries = AuditOf("peer-purge");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_NE(entries[0].dump().find("\"records\":3"), std::string::npos)
      << entries[0].dump();
  EXPECT_TRUE(kz_->AuditVerifies());
  // Gone from the roster too; a second purge finds nothing more to delete.
  EXPECT_TRUE(kz_->PeerState("CERT-UZ").is_null());
  json again =
      kz_->CliJson({"peers", "remove", "CERT-UZ", "--purge", "--yes"});
  EXPECT_EQ(again["deleted"]["indicators"], 0) << again.dump();
}

}  // namespace
}  // namespace caravan::integration
