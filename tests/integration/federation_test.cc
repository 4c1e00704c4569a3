// Federation end to end: real caravand nodes on loopback, linked with
// `caravan peers add`, driven through the CLI. Covers policy filtering
// across three CERTs, redaction, relay and loops, catch-up after a stop,
// revocations, kill -9 during a large transfer, policy reload and embargo.
// Every wait is a bounded poll on a condition (no sleeps that assert).

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/sanitized.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

// The kill -9 transfer: 50k records, fewer under ASan (about 10x slower)
// so the whole suite stays within its time budget.
constexpr int kKillTransferRecords = kSanitized ? 10000 : 50000;

std::string Ip(uint32_t prefix, uint32_t i) {
  return std::to_string(prefix) + "." + std::to_string((i >> 16) & 255) +
         "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
}

std::vector<std::string> Ips(uint32_t prefix, uint32_t first, uint32_t n) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(Ip(prefix, first + i));
  return out;
}

class FederationTest : public FederationFixture {
 protected:
  // Submits a bulk file of `values` at `n` with extra flags; the count of
  // stored lines is checked by the caller through Count().
  void SubmitFile(FedNode& n, const std::vector<std::string>& values,
                  const std::vector<std::string>& flags) {
    const auto path = n.node().root() / ("bulk-" + std::to_string(files_++));
    WriteLinesFile(path, values);
    std::vector<std::string> args = {"submit", "--file", path.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    CommandResult r = n.Cli(args);
    ASSERT_EQ(r.exit_code, 0) << "bulk submit at " << n.name() << ": "
                              << r.Describe();
  }
  // Every revision of the indicator `id` at `n` verifies; returns the
  // `show` document.
  json ExpectAllRevisionsVerified(const FedNode& n, const std::string& id) {
    json doc = n.CliJson({"show", id});
    EXPECT_FALSE(doc.is_null());
    if (doc.is_null()) return doc;
    EXPECT_FALSE(doc["revisions"].empty());
    for (const auto& r : doc["revisions"]) {
      EXPECT_EQ(r["verified"], true) << n.name() << " " << doc.dump();
    }
    return doc;
  }
  // How often each indicator was accepted from a peer at `n`: accept
  // entries are batch entries that list their records (docs/audit.md).
  std::map<std::string, int> AcceptCounts(const FedNode& n) {
    std::map<std::string, int> counts;
    for (const auto& e : n.Audit()) {
      if (e["action"] != "accept") continue;
      const json& records = e["detail"]["records"];
      EXPECT_EQ(e["detail"]["count"], records.size()) << e.dump();
      for (const auto& r : records) ++counts[r["id"].get<std::string>()];
    }
    return counts;
  }

  // Three nodes all linked, 40 records from each; see the tests below.
  void RunTriangle(bool wait_settled);

  int files_ = 0;
};

std::set<std::string> ToSet(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

std::set<std::string> Unique(const std::multiset<std::string>& m) {
  return {m.begin(), m.end()};
}

// Three CERTs with different policies (like scripts/demo): each receives
// exactly what its policy allows; protected assets and TLP:RED never leave.
TEST_F(FederationTest, ThreeNodesReceiveExactlyWhatPoliciesAllow) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& cn = Make("CERT-CN", "CN");
  uz.WritePolicy("protected.toml",
                 "cidrs = [\"195.158.0.0/16\"]\n"
                 "domain_suffixes = [\"gov.uz\"]\n");
  uz.ShareWith("KZ", "amber",
               "types = [\"ipv4\", \"domain\", \"url\", \"sha256\"]\n"
               "redact = [\"description\"]\nreshare = \"direct\"\n");
  uz.ShareWith("CN", "green", "types = [\"ipv4\"]\nmin_confidence = 70\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  Connect(uz, cn);
  Connect(kz, cn);

  const auto hi = Ips(198, 0x336401, 20);     // green, confidence 80
  const auto lo = Ips(198, 0x336501, 10);     // green, confidence 50
  const auto amber = Ips(192, 0x000201, 5);   // amber, confidence 90
  std::vector<std::string> domains;
  for (int i = 0; i < 10; ++i) {
    domains.push_back("evil-" + std::to_string(i) + ".example.com");
  }
  const std::vector<std::string> hashes = {
      std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c')};
  ASSERT_NO_FATAL_FAILURE(SubmitFile(
      uz, hi, {"--type", "ipv4", "--tlp", "green", "--confidence", "80"}));
  ASSERT_NO_FATAL_FAILURE(SubmitFile(
      uz, lo, {"--type", "ipv4", "--tlp", "green", "--confidence", "50"}));
  ASSERT_NO_FATAL_FAILURE(SubmitFile(
      uz, amber, {"--type", "ipv4", "--tlp", "amber", "--confidence", "90"}));
  ASSERT_NO_FATAL_FAILURE(
      SubmitFile(uz, domains,
                 {"--type", "domain", "--tlp", "amber", "--confidence", "60",
                  "--description", "seen in phishing against UZ ministries"}));
  ASSERT_NO_FATAL_FAILURE(SubmitFile(
      uz, hashes, {"--type", "sha256", "--tlp", "green", "--confidence", "90"}));
  // Never leave: protected network, protected domain suffix, TLP:RED, and a
  // type neither partner takes.
  Submit(uz, {"ipv4", "195.158.12.7", "--tlp", "green", "--confidence", "90"});
  Submit(uz, {"domain", "mail.gov.uz", "--tlp", "green", "--confidence", "90"});
  Submit(uz, {"ipv4", "203.0.113.66", "--tlp", "red", "--confidence", "95"});
  Submit(uz, {"ipv6", "2001:db8::1", "--tlp", "green", "--confidence", "90"});

  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, cn));
  // KZ and CN share nothing with anyone (default.toml): settle those too,
  // so nothing relayed could still be on its way.
  ASSERT_NO_FATAL_FAILURE(WaitSettled(kz, cn));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(cn, kz));

  std::set<std::string> want_kz;
  const std::vector<const std::vector<std::string>*> lists = {
      &hi, &lo, &amber, &domains, &hashes};
  for (const auto* v : lists) {
    want_kz.insert(v->begin(), v->end());
  }
  const std::set<std::string> want_cn = ToSet(hi);
  const auto got_kz = kz.Values();
  const auto got_cn = cn.Values();
  EXPECT_EQ(got_kz.size(), want_kz.size()) << "duplicates or extras at KZ";
  EXPECT_EQ(Unique(got_kz), want_kz);
  EXPECT_EQ(got_cn.size(), want_cn.size()) << "duplicates or extras at CN";
  EXPECT_EQ(Unique(got_cn), want_cn);
  for (const auto* n : {&kz, &cn}) {
    for (const char* v :
         {"195.158.12.7", "mail.gov.uz", "203.0.113.66", "2001:db8::1"}) {
      EXPECT_TRUE(n->Lookup(v).is_null()) << v << " reached " << n->name();
    }
  }

  // A redacted domain at KZ: description gone, a non-zero variant signed by
  // the origin that verifies; provenance names UZ.
  json d = kz.Lookup(domains[0]);
  ASSERT_FALSE(d.is_null());
  EXPECT_EQ(d["description"], "");
  EXPECT_NE(d["variant"], 0);
  EXPECT_EQ(d["verified"], true);
  EXPECT_EQ(d["origin_name"], "CERT-UZ");
  EXPECT_EQ(d["origin"], "UZ");
  EXPECT_EQ(d["origin_key"], uz.key());
  EXPECT_EQ(d["received_from"], "CERT-UZ");
  json shown = ExpectAllRevisionsVerified(kz, d["id"].get<std::string>());
  for (const auto& r : shown["revisions"]) EXPECT_NE(r["variant"], 0);
  // The origin still holds the full description.
  json full = uz.Lookup(domains[0]);
  ASSERT_FALSE(full.is_null());
  EXPECT_EQ(full["description"], "seen in phishing against UZ ministries");

  // An unredacted one at CN: provenance and verification.
  json ip = cn.Lookup(hi[3]);
  ASSERT_FALSE(ip.is_null());
  EXPECT_EQ(ip["origin_name"], "CERT-UZ");
  EXPECT_EQ(ip["received_from"], "CERT-UZ");
  EXPECT_EQ(ip["verified"], true);
  ExpectAllRevisionsVerified(cn, ip["id"].get<std::string>());
}

// A revocation sent to a peer that holds a redacted variant keeps the
// redaction (the peer was never allowed to see the description) and the
// reshare ceiling.
TEST_F(FederationTest, RevocationToHolderKeepsRedaction) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber", "redact = [\"description\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  const std::string id =
      Submit(uz, {"ipv4", "10.77.0.1", "--tlp", "green", "--description",
                  "analyst notes: source is a human informant"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  json before = kz.Lookup("10.77.0.1");
  ASSERT_FALSE(before.is_null());
  ASSERT_EQ(before["description"], "");
  ASSERT_EQ(uz.Cli({"revoke", id, "--reason", "false positive"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    json j = kz.Lookup("10.77.0.1");
    return !j.is_null() && j["revoked"] == true;
  }));
  json after = kz.Lookup("10.77.0.1");
  EXPECT_EQ(after["description"], "") << "redacted field leaked: "
                                      << after.dump();
  EXPECT_NE(after["variant"], 0);
  EXPECT_EQ(after["reshare"], before["reshare"])
      << "the reshare ceiling was lifted by the revocation";
  ExpectAllRevisionsVerified(kz, id);
}

// A -> B -> C relay where A and C do not link: a record marked reshare
// federation reaches C with A's signature intact; one marked direct does not.
TEST_F(FederationTest, RelayKeepsOriginSignatureAndHonoursReshare) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  FedNode& c = Make("CERT-C", "CN");
  a.ShareWith("KZ", "amber", "reshare = \"federation\"\n");
  b.ShareWith("CN", "amber", "reshare = \"federation\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(a, b);
  Connect(b, c);
  // In each other's roster (so C knows A's key) but no endpoint: no link.
  AddPeer(a, c, /*dial=*/false);
  AddPeer(c, a, /*dial=*/false);

  Submit(a, {"ipv4", "10.9.0.1", "--tlp", "green", "--reshare", "federation"});
  Submit(a, {"ipv4", "10.9.0.2", "--tlp", "green", "--reshare", "direct"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(a, b));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(b, c));
  EXPECT_EQ(Unique(b.Values()),
            (std::set<std::string>{"10.9.0.1", "10.9.0.2"}));

  json relayed = c.Lookup("10.9.0.1");
  ASSERT_FALSE(relayed.is_null()) << "relay did not arrive; B log:\n"
                                  << b.node().LogText();
  EXPECT_EQ(relayed["origin_name"], "CERT-A");
  EXPECT_EQ(relayed["origin_key"], a.key());
  EXPECT_EQ(relayed["received_from"], "CERT-B");
  EXPECT_EQ(relayed["verified"], true);
  EXPECT_EQ(relayed["variant"], 0) << "a relay must not change the record";
  ExpectAllRevisionsVerified(c, relayed["id"].get<std::string>());
  EXPECT_TRUE(c.Lookup("10.9.0.2").is_null())
      << "a reshare=direct record was relayed";
  EXPECT_EQ(c.PeerState("CERT-A")["link"] == "up", false)
      << "A and C must not link directly in this test";
}

void FederationTest::RunTriangle(bool wait_settled) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  FedNode& c = Make("CERT-C", "CN");
  for (auto* n : {&a, &b, &c}) {
    n->ShareWithAll("amber",
                    "reshare = \"federation\"\n"
                    "[inbound]\naccept = true\naccept_relayed = true\n");
  }
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(a, b);
  Connect(b, c);
  Connect(c, a);
  const auto va = Ips(10, 0x410001, 40);
  const auto vb = Ips(10, 0x420001, 40);
  const auto vc = Ips(10, 0x430001, 40);
  const std::vector<std::string> flags = {"--type", "ipv4", "--tlp", "green",
                                          "--reshare", "federation"};
  ASSERT_NO_FATAL_FAILURE(SubmitFile(a, va, flags));
  ASSERT_NO_FATAL_FAILURE(SubmitFile(b, vb, flags));
  ASSERT_NO_FATAL_FAILURE(SubmitFile(c, vc, flags));
  std::set<std::string> all;
  for (const auto* v : {&va, &vb, &vc}) all.insert(v->begin(), v->end());

  FedNode* ns[] = {&a, &b, &c};
  for (FedNode* x : ns) {
    ASSERT_TRUE(WaitFor([&] { return x->Count() == 120; }))
        << x->name() << " holds " << x->Count();
  }
  if (wait_settled) {
    for (FedNode* x : ns) {
      for (FedNode* y : ns) {
        if (x != y) {
          ASSERT_NO_FATAL_FAILURE(WaitSettled(*x, *y));
        }
      }
    }
  }
  for (FedNode* x : ns) {
    auto values = x->Values();
    EXPECT_EQ(values.size(), all.size()) << x->name();
    EXPECT_EQ(Unique(values), all) << x->name();
    auto accepts = AcceptCounts(*x);
    EXPECT_EQ(accepts.size(), 80u) << x->name() << ": received indicators";
    for (const auto& [subject, n] : accepts) {
      EXPECT_EQ(n, 1) << x->name() << " accepted " << subject << " " << n
                      << " times";
    }
    json st = x->CliJson({"status"});
    EXPECT_EQ(st["counts"]["records"], 120) << x->name() << " " << st.dump();
  }
}

// A full triangle with reshare federation everywhere: every record is
// stored exactly once at every node, however many paths it could take.
TEST_F(FederationTest, LoopsNeverCauseRepeats) { RunTriangle(false); }

// The same triangle must also settle: every peer acknowledges up to the
// sender's log_seq, backlog 0.
// Regression: it never settled (acked_seq 160, log_seq 200, backlog 40)
// while GetCounts took last_log_seq from sqlite_sequence, which counts the
// numbers that ON CONFLICT DO NOTHING inserts burn for duplicates.
TEST_F(FederationTest, TriangleSettlesWithZeroBacklog) {
  RunTriangle(true);
}

// A receiver stopped while the sender submits catches up once restarted.
TEST_F(FederationTest, StoppedReceiverCatchesUpOnce) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  a.ShareWithAll("amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(a, b));
  Submit(a, {"ipv4", "10.50.0.1", "--tlp", "green"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(a, b));
  ASSERT_EQ(b.Stop(), 0) << b.node().LogText();

  const auto values = Ips(10, 0x510000, 2000);
  ASSERT_NO_FATAL_FAILURE(
      SubmitFile(a, values, {"--type", "ipv4", "--tlp", "green"}));
  ASSERT_EQ(a.Count(), 2001);
  std::string why;
  ASSERT_TRUE(b.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return b.Count() == 2001; }))
      << "B holds " << b.Count();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(a, b));
  auto got = b.Values();
  std::set<std::string> want = ToSet(values);
  want.insert("10.50.0.1");
  EXPECT_EQ(got.size(), want.size());
  EXPECT_EQ(Unique(got), want);
  auto accepts = AcceptCounts(b);
  EXPECT_EQ(accepts.size(), 2001u);
  for (const auto& [subject, n] : accepts) EXPECT_EQ(n, 1) << subject;

  // For people, a batch entry's record list is summed up, not printed.
  CommandResult text = b.Cli({"audit", "--peer", "CERT-A"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  int summed = 0;
  std::istringstream lines(text.out);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LT(line.size(), 4096u) << line.substr(0, 300);
    if (line.find(" accept ") != std::string::npos &&
        line.find(" records, listed with --json") != std::string::npos) {
      ++summed;
    }
  }
  EXPECT_GT(summed, 0) << text.out.substr(0, 4000);
}

// A revocation reaches the node that received the indicator and never the
// node that did not.
TEST_F(FederationTest, RevocationReachesHoldersOnly) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& cn = Make("CERT-CN", "CN");
  uz.ShareWith("KZ", "amber");
  uz.ShareWith("CN", "amber", "types = [\"ipv4\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  Connect(uz, cn);
  const std::string dom = Submit(uz, {"domain", "revoke-me.example.org",
                                      "--tlp", "green"});
  Submit(uz, {"ipv4", "10.60.0.1", "--tlp", "green"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, cn));
  ASSERT_FALSE(kz.Lookup("revoke-me.example.org").is_null());
  ASSERT_TRUE(cn.Lookup("revoke-me.example.org").is_null());

  CommandResult r = uz.Cli({"revoke", dom, "--reason", "false positive"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(WaitFor([&] {
    json j = kz.Lookup("revoke-me.example.org");
    return !j.is_null() && j["revoked"] == true;
  })) << "the revocation did not reach the holder";
  json k = kz.Lookup("revoke-me.example.org");
  EXPECT_EQ(k["revision"], 2);
  EXPECT_EQ(k["revoke_reason"], "false positive");
  ExpectAllRevisionsVerified(kz, dom);
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, cn));
  EXPECT_TRUE(cn.Lookup("revoke-me.example.org").is_null())
      << "the revocation leaked the value to a node that never held it";
  json ip = cn.Lookup("10.60.0.1");
  ASSERT_FALSE(ip.is_null());
  EXPECT_EQ(ip["revoked"], false);
}

// Kill -9 of receiver (twice) and sender (twice) at random moments during a
// large transfer: afterwards everything arrived exactly once and both audit
// chains verify.
TEST_F(FederationTest, KillNineDuringLargeTransferLosesAndRepeatsNothing) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  a.ShareWithAll("amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(a, b));
  ASSERT_TRUE(WaitFor([&] { return a.Settled("CERT-B"); }));
  ASSERT_EQ(b.Stop(), 0);  // the whole transfer happens after the submit

  const auto values = Ips(10, 0x010001, kKillTransferRecords);
  ASSERT_NO_FATAL_FAILURE(SubmitFile(
      a, values, {"--type", "ipv4", "--tlp", "green", "--confidence", "70"}));
  ASSERT_EQ(a.Count(), kKillTransferRecords);
  std::string why;
  ASSERT_TRUE(b.Start(&why)) << why;

  std::mt19937 rng(std::random_device{}());
  int mid_transfer_kills = 0;
  // Receiver, receiver, sender, sender.
  for (FedNode* victim : {&b, &b, &a, &a}) {
    // Wait for the transfer to be under way (or done), then a random moment.
    WaitFor([&] { return b.Count() > 0; }, std::chrono::seconds(30));
    std::uniform_int_distribution<int> ms(50, 1500);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
    const int64_t at = b.Count();
    if (at < kKillTransferRecords) ++mid_transfer_kills;
    victim->Kill();
    ASSERT_TRUE(victim->Start(&why)) << why;
    std::cerr << "[ info ] kill -9 " << victim->name() << " with " << at
              << " of " << kKillTransferRecords << " at the receiver\n";
  }
  ASSERT_TRUE(WaitFor([&] { return b.Count() == kKillTransferRecords; },
                      std::chrono::seconds(300)))
      << "B holds " << b.Count();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(a, b));
  std::cerr << "[ info ] " << mid_transfer_kills
            << " of 4 kills hit the transfer in progress\n";

  auto got = b.Values();
  EXPECT_EQ(got.size(), values.size()) << "duplicates at the receiver";
  EXPECT_EQ(Unique(got), ToSet(values));
  json st = b.CliJson({"status"});
  EXPECT_EQ(st["counts"]["records"], kKillTransferRecords) << st.dump();
  // (The audit's accept entries cannot be counted here: `caravan audit`
  // returns at most 10000 entries, oldest first; records == N above is the
  // same check, one stored revision per indicator.)
  EXPECT_TRUE(a.AuditVerifies());
  EXPECT_TRUE(b.AuditVerifies());
}

// Records withheld under the old policy go out after `policy reload` with a
// policy that allows them.
TEST_F(FederationTest, PolicyReloadSendsWhatBecameShareable) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  a.ShareWith("KZ", "amber", "types = [\"domain\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(a, b));
  const auto ips = Ips(10, 0x700001, 5);
  ASSERT_NO_FATAL_FAILURE(SubmitFile(a, ips, {"--type", "ipv4", "--tlp",
                                              "green"}));
  Submit(a, {"domain", "reload.example.net", "--tlp", "green"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(a, b));
  EXPECT_EQ(Unique(b.Values()),
            (std::set<std::string>{"reload.example.net"}));

  a.ShareWith("KZ", "amber", "types = [\"domain\", \"ipv4\"]\n");
  CommandResult r = a.Cli({"policy", "reload"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(WaitFor([&] { return b.Count() == 6; }))
      << "B holds " << b.Count() << "; A log:\n"
      << a.node().LogText();
  std::set<std::string> want = ToSet(ips);
  want.insert("reload.example.net");
  auto got = b.Values();
  EXPECT_EQ(got.size(), want.size());
  EXPECT_EQ(Unique(got), want);
}

// An embargo of 3 s: the record is not there right after submit, arrives
// later, and was stored no earlier than created + 3 s.
TEST_F(FederationTest, EmbargoDelaysSharing) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  a.ShareWith("KZ", "amber", "embargo = \"3s\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(a, b));
  ASSERT_TRUE(WaitFor([&] {
    json p = a.PeerState("CERT-B");
    return !p.is_null() && p["link"] == "up";
  }));
  Submit(a, {"ipv4", "10.80.0.1", "--tlp", "green"});
  // The policy forbids it before created + 3 s, whatever the timing here.
  json early = b.Lookup("10.80.0.1");
  EXPECT_TRUE(early.is_null()) << "arrived during the embargo: "
                               << early.dump();
  ASSERT_TRUE(WaitFor([&] { return !b.Lookup("10.80.0.1").is_null(); }))
      << "the embargoed record never arrived";
  json got = b.Lookup("10.80.0.1");
  const int64_t created = ParseTime(got["created"]);
  const int64_t stored = ParseTime(got["stored_at"]);
  ASSERT_GT(created, 0);
  ASSERT_GT(stored, 0);
  EXPECT_GE(stored - created, 3) << got.dump();
}

}  // namespace
}  // namespace caravan::integration
