// Hub operations: the checks behind `caravan peers add --via` and `caravan
// peers remove` (protocol::CheckNewMember / CheckRemoveMember, the roster
// loader's own rules), and the hub's /metrics families
// (CollectHubMetrics: queue depth per roster member, totals).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "daemon/node/metrics_collect.h"
#include "daemon/store/store.h"
#include "protocol/config/roster_file.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using protocol::CheckNewMember;
using protocol::CheckRemoveMember;
using protocol::RosterMember;
using testing::Member;
using testing::TempDir;

// A roster of a direct hub H, a direct peer P (with an endpoint) and C
// routed via H; "self" is this node's key.
struct Roster {
  Member self{"SELF", "KZ"};
  Member h{"HUB", "DE"};
  Member p{"CERT-P", "TJ"};
  Member c{"CERT-C", "UZ"};
  Member n{"CERT-N", "KG"};  // the member being added
  std::vector<RosterMember> members = [this] {
    RosterMember peer = p.Roster();
    peer.endpoint = protocol::HostPort{"127.0.0.1", 7420};
    return std::vector<RosterMember>{h.Roster(), peer, c.Roster("HUB")};
  }();

  Status Add(RosterMember m) {
    return CheckNewMember(members, m, self.key->public_key());
  }
};

void ExpectRefused(const Status& s, const std::string& part) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s.message();
  EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
}

TEST(HubPeersAddTest, ViaADirectMemberIsAccepted) {
  Roster r;
  EXPECT_TRUE(r.Add(r.n.Roster("HUB")).ok());
  // A hub need not have an endpoint (it may dial us): P with one is fine too.
  EXPECT_TRUE(r.Add(r.n.Roster("CERT-P")).ok());
  EXPECT_TRUE(r.Add(r.n.Roster()).ok());
  // What was accepted loads again once written.
  r.members.push_back(r.n.Roster("HUB"));
  auto back = protocol::ParseRoster(protocol::RenderRoster(r.members),
                                    "roster.toml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->back().via, "HUB");
}

TEST(HubPeersAddTest, BadViaIsRefusedNamingWhatIsWrong) {
  Roster r;
  ExpectRefused(r.Add(r.n.Roster("NOPE")), "--via: no member named 'NOPE'");
  ExpectRefused(r.Add(r.n.Roster("CERT-C")),
                "--via: 'CERT-C' is itself reached through a hub; a hub must "
                "be a direct peer");
  ExpectRefused(r.Add(r.n.Roster("CERT-N")),
                "--via: a member cannot be its own hub");
  ExpectRefused(r.Add(r.n.Roster(" HUB")),
                "--via: ' HUB' starts or ends with a space");
  RosterMember both = r.n.Roster("HUB");
  both.endpoint = protocol::HostPort{"127.0.0.1", 1};
  ExpectRefused(r.Add(both), "--via and --endpoint exclude each other");
}

TEST(HubPeersAddTest, DuplicatesAndOwnKeyAreRefused) {
  Roster r;
  RosterMember same_name = r.n.Roster();
  same_name.name = "HUB";
  ExpectRefused(r.Add(same_name), "already has a member named HUB");
  RosterMember same_key = r.h.Roster();
  same_key.name = "OTHER";
  ExpectRefused(r.Add(same_key), "--key: that key is already in the roster "
                                 "as HUB");
  ExpectRefused(r.Add(r.self.Roster()), "--key is this node's own key");
  RosterMember bad = r.n.Roster();
  bad.name = "";
  ExpectRefused(r.Add(bad), "NAME");
}

TEST(HubPeersRemoveTest, AHubOthersRouteThroughStays) {
  Roster r;
  Status s = CheckRemoveMember(r.members, "HUB");
  ExpectRefused(s, "HUB is the hub of CERT-C");
  EXPECT_TRUE(CheckRemoveMember(r.members, "CERT-C").ok());
  EXPECT_TRUE(CheckRemoveMember(r.members, "CERT-P").ok());
  EXPECT_EQ(CheckRemoveMember(r.members, "NOPE").code(),
            StatusCode::kNotFound);
}

// The samples of `family` in `families`, by their first label value.
std::map<std::string, double> Samples(
    const std::vector<CollectedFamily>& families, const std::string& family) {
  std::map<std::string, double> out;
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& [labels, v] : f.samples) {
      out[labels.empty() ? "" : labels[0]] = v;
    }
  }
  return out;
}

TEST(HubMetricsTest, DepthPerRosterMemberAndTotals) {
  Roster r;
  TempDir dir;
  auto opened = store::Store::Open(dir.File("hub.db"));
  ASSERT_TRUE(opened.ok());
  auto& store = **opened;
  auto enqueue = [&](uint8_t id, size_t bytes,
                     const protocol::PublicKey& key) {
    store::HubEnvelope e;
    e.envelope_id.fill(id);
    e.sender = r.p.name;
    e.sender_key = r.p.key->public_key();
    e.recipient_key = key;
    e.envelope.assign(bytes, 1);
    auto out = store.WriteValue<store::HubEnqueueOutcome>(
        [&](store::WriteTxn& t) { return t.HubEnqueue(e, 100); }).get();
    ASSERT_TRUE(out.ok()) << out.status().message();
  };
  enqueue(1, 300, r.c.key->public_key());
  enqueue(2, 200, r.c.key->public_key());
  // For a member no longer in the roster.
  Member gone{"GONE", "FR"};
  enqueue(3, 50, gone.key->public_key());
  ASSERT_TRUE(store.Write([](store::WriteTxn& t) {
    return t.HubCountRefused(store::kHubRefusedQueueFull, 9);
  }).get().ok());

  auto reader = store.OpenReader();
  ASSERT_TRUE(reader.ok());
  auto families = CollectHubMetrics(**reader, r.members);
  ASSERT_TRUE(families.ok()) << families.status().message();
  // Every roster member has a sample (0 when nothing is queued); the
  // removed one is counted under "other".
  EXPECT_EQ(Samples(*families, "caravan_hub_queued_envelopes"),
            (std::map<std::string, double>{
                {"HUB", 0}, {"CERT-P", 0}, {"CERT-C", 2}, {"other", 1}}));
  EXPECT_EQ(Samples(*families, "caravan_hub_queued_bytes"),
            (std::map<std::string, double>{
                {"HUB", 0}, {"CERT-P", 0}, {"CERT-C", 500}, {"other", 50}}));
  EXPECT_EQ(Samples(*families, "caravan_hub_envelopes_stored_total")[""], 3);
  EXPECT_EQ(Samples(*families, "caravan_hub_stored_bytes_total")[""], 550);
  EXPECT_EQ(Samples(*families, "caravan_hub_envelopes_forwarded_total")[""],
            0);
  EXPECT_EQ(Samples(*families, "caravan_hub_envelopes_refused_total"),
            (std::map<std::string, double>{{"queue_full", 1},
                                           {"unknown_recipient", 0},
                                           {"not_hub", 0}}));
  for (const auto& f : *families) {
    EXPECT_EQ(f.type, f.name.ends_with("_total") ? MetricType::kCounter
                                                 : MetricType::kGauge)
        << f.name;
  }
}

}  // namespace
}  // namespace caravan::daemon::sync
