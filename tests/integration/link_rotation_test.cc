// Link key rotation with real daemons (docs/federation.md, Link key
// rotation): three nodes linked both ways; one rotates its link key with
// `caravan key rotate --link`; every link comes back under the new key
// within seconds with no roster change anywhere; sync carries on with no
// record lost or doubled; a handshake with the retired key is refused and
// audited, also by a peer restarted since (the highest serial is stored).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "crypto/key_file.h"
#include "daemon/link/link_manager.h"
#include "protocol/config/roster_file.h"
#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class LinkRotationTest : public FederationFixture {
 protected:
  // `n` has audited `action` naming `peer` (any peer when empty) with a
  // detail for which `match` holds.
  static bool Audited(const FedNode& n, const std::string& action, const std::string& peer,
                      const std::function<bool(const json&)>& match) {
    for (const auto& e : n.Audit(10000, peer)) {
      if (e.value("action", "") == action && match(e.value("detail", json::object()))) {
        return true;
      }
    }
    return false;
  }

  // The link state `n` reports for `peer` ("" when it has none).
  static std::string LinkOf(const FedNode& n, const std::string& peer) {
    const json p = n.PeerState(peer);
    return p.is_object() ? p.value("link", std::string()) : std::string();
  }

  // How many refusals of `member`'s retired link keys `n` has audited: one
  // entry per refusal that opened its source's failure window (naming
  // `member`), plus one per window summary that counted any.
  static size_t RetiredKeyRefusals(const FedNode& n, const std::string& member) {
    size_t count = 0;
    for (const auto& e : n.Audit(10000, member)) {
      const json d = e.value("detail", json::object());
      if (e.value("action", "") == "link-handshake_failed" &&
          d.value("detail", "").find("retired link key") != std::string::npos) {
        ++count;
      }
    }
    for (const auto& e : n.Audit()) {
      const json d = e.value("detail", json::object());
      if (e.value("action", "") == "link-handshake_failures" && d.contains("reasons") &&
          d["reasons"].contains("retired_link_key")) {
        ++count;
      }
    }
    return count;
  }

  // Handshakes with `to` as `member` (its identity key) presenting
  // `old_link`, a link key `member` has rotated away, as a thief of the old
  // key file would: `to` must refuse it as a retired link key (more
  // refusals audited than `refusals_before`) and never link.
  void ExpectOldKeyRefused(const FedNode& to, const FedNode& member,
                           const crypto::LinkKey& old_link, size_t refusals_before) {
    std::string error;
    auto identity = crypto::LoadIdentityKey(member.node().dir() / "identity.key", &error);
    ASSERT_NE(identity, nullptr) << error;
    auto key_to = protocol::ParsePublicKeyText(to.key());
    ASSERT_TRUE(key_to.ok());
    boost::asio::io_context io;
    daemon::link::LinkOptions options;
    options.handshake_timeout = std::chrono::seconds(5);
    daemon::link::LinkManager thief(io, *identity, old_link, options, nullptr, nullptr);
    daemon::link::PeerIdentity target{to.name(), to.country(), *key_to,
                                      protocol::HostPort{"127.0.0.1", to.port()}};
    ASSERT_TRUE(thief.Start({target}).ok());
    auto refused = [&] { return RetiredKeyRefusals(to, member.name()) > refusals_before; };
    const auto give_up = Clock::now() + std::chrono::seconds(20);
    while (!refused() && Clock::now() < give_up) io.run_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(refused()) << to.node().LogText();
    EXPECT_EQ(thief.LinkTo(to.name()), nullptr) << "linked with a retired link key";
    thief.Stop();
    io.run_for(std::chrono::milliseconds(100));
  }

  // Submits `count` ipv4 values 10.<prefix>.0.i at `n`; the values.
  std::vector<std::string> SubmitBatch(FedNode& n, int prefix, int count) {
    std::vector<std::string> values;
    for (int i = 1; i <= count; ++i) {
      const std::string v = "10." + std::to_string(prefix) + ".0." + std::to_string(i);
      Submit(n, {"ipv4", v, "--tlp", "green", "--confidence", "80"});
      values.push_back(v);
    }
    return values;
  }
};

TEST_F(LinkRotationTest, RotatedLinkKeyRelinksEveryPeerWithNoRosterChange) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  FedNode& c = Make("CERT-C", "KG");
  for (FedNode* n : {&a, &b, &c}) n->ShareWithAll("green", "reshare = \"direct\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(a, b);
  Connect(a, c);
  Connect(b, c);
  std::vector<std::string> want;
  for (auto* n : {&a, &b, &c}) {
    const int prefix = n == &a ? 1 : n == &b ? 2 : 3;
    for (const auto& v : SubmitBatch(*n, prefix, 10)) want.push_back(v);
  }
  for (FedNode* from : {&a, &b, &c}) {
    for (FedNode* to : {&a, &b, &c}) {
      if (from != to) {
        ASSERT_NO_FATAL_FAILURE(WaitSettled(*from, *to));
      }
    }
  }
  const auto roster_a = protocol::LoadRosterFile(a.node().dir() / "roster.toml");
  const auto roster_c = protocol::LoadRosterFile(c.node().dir() / "roster.toml");
  ASSERT_TRUE(roster_a.ok() && roster_c.ok());

  // Baseline for the report (not asserted): how long every link to B
  // takes to come back when B restarts, in this same run.
  const auto t_restart = Clock::now();
  ASSERT_EQ(b.Stop(), 0);
  std::string why;
  ASSERT_TRUE(b.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return LinkOf(a, "CERT-B") == "up" && LinkOf(c, "CERT-B") == "up"; },
                      std::chrono::seconds(30)));
  const auto restart_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_restart).count();
  std::cout << "[ metric ] link_restart_relink_ms=" << restart_ms << " (baseline)\n";
  RecordProperty("restart_relink_ms", static_cast<int>(restart_ms));

  // The old link key, as someone who stole it would have it.
  std::string error;
  auto old_link = crypto::LoadLinkKey(b.node().dir() / "link.key", &error);
  ASSERT_NE(old_link, nullptr) << error;

  const auto t0 = Clock::now();
  CommandResult rotated = b.Cli({"key", "rotate", "--link"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  EXPECT_NE(rotated.out.find("link key rotated: serial 0 -> "), std::string::npos)
      << rotated.out;
  // Both peers have linked with B's new key (they audit the new serial)
  // and the links are up.
  auto relinked = [&](const FedNode& peer) {
    return Audited(peer, "link-key-accept", "CERT-B",
                   [](const json& d) { return d.value("serial", uint64_t{0}) > 0; }) &&
           LinkOf(peer, "CERT-B") == "up";
  };
  ASSERT_TRUE(WaitFor([&] { return relinked(a) && relinked(c); }, std::chrono::seconds(30)))
      << "A: " << a.PeerState("CERT-B").dump() << "\nC: " << c.PeerState("CERT-B").dump()
      << "\nB log:\n" << b.node().LogText();
  const auto relink_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  std::cout << "[ metric ] link_rotation_relink_ms=" << relink_ms << "\n";
  RecordProperty("relink_ms", static_cast<int>(relink_ms));
  EXPECT_TRUE(WaitFor([&] { return LinkOf(b, "CERT-A") == "up"; }, std::chrono::seconds(10)));
  // B audited the rotation with its actor.
  bool found = false;
  for (const auto& e : b.Audit()) {
    if (e.value("action", "") == "link-key-rotate") {
      found = true;
      EXPECT_EQ(e.value("actor", "").rfind("uid:", 0), 0u) << e.dump();
      EXPECT_EQ(e.value("detail", json::object()).value("trigger", ""), "operator") << e.dump();
    }
  }
  EXPECT_TRUE(found);

  // Sync carries on, in every direction, over the new links.
  for (auto* n : {&a, &b, &c}) {
    const int prefix = n == &a ? 11 : n == &b ? 12 : 13;
    for (const auto& v : SubmitBatch(*n, prefix, 10)) want.push_back(v);
  }
  for (FedNode* from : {&a, &b, &c}) {
    for (FedNode* to : {&a, &b, &c}) {
      if (from != to) {
        ASSERT_NO_FATAL_FAILURE(WaitSettled(*from, *to));
      }
    }
  }
  const std::multiset<std::string> want_set(want.begin(), want.end());
  for (FedNode* n : {&a, &b, &c}) {
    EXPECT_EQ(n->Values(), want_set) << n->name() << ": a record lost or doubled";
    EXPECT_EQ(n->Count(), static_cast<int64_t>(want.size())) << n->name();
  }
  // Nobody's roster changed.
  EXPECT_EQ(*protocol::LoadRosterFile(a.node().dir() / "roster.toml"), *roster_a);
  EXPECT_EQ(*protocol::LoadRosterFile(c.node().dir() / "roster.toml"), *roster_c);

  // A handshake with B's retired link key (and B's identity key: the
  // strongest a thief of the old key file could do) is refused by A and
  // audited there.
  const size_t refusals_before = RetiredKeyRefusals(a, "CERT-B");
  ASSERT_NO_FATAL_FAILURE(ExpectOldKeyRefused(a, b, *old_link, refusals_before));
  // B's own link to A is unaffected.
  EXPECT_EQ(LinkOf(a, "CERT-B"), "up");
}

// The highest link serial seen survives a restart (table link_serials):
// after B rotates its link key and A restarts, A still refuses B's old link
// key before it has seen B's new one again, and B links with the new key.
TEST_F(LinkRotationTest, RetiredLinkKeyStaysRefusedAfterRestart) {
  FedNode& a = Make("CERT-A", "UZ");
  FedNode& b = Make("CERT-B", "KZ");
  for (FedNode* n : {&a, &b}) n->ShareWithAll("green", "reshare = \"direct\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(a, b);
  ASSERT_TRUE(WaitFor([&] { return LinkOf(a, "CERT-B") == "up"; }, std::chrono::seconds(30)));

  std::string error;
  auto old_link = crypto::LoadLinkKey(b.node().dir() / "link.key", &error);
  ASSERT_NE(old_link, nullptr) << error;
  CommandResult rotated = b.Cli({"key", "rotate", "--link"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  // A has linked with B's new key: it saw (and stored) the new serial.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Audited(a, "link-key-accept", "CERT-B",
                       [](const json& d) { return d.value("serial", uint64_t{0}) > 0; }) &&
               LinkOf(a, "CERT-B") == "up";
      },
      std::chrono::seconds(30)))
      << "A: " << a.PeerState("CERT-B").dump() << "\nB log:\n" << b.node().LogText();

  // B goes away and A restarts: the only serial A can know for B now is
  // the one it stored before the restart.
  ASSERT_EQ(b.Stop(), 0);
  ASSERT_EQ(a.Stop(), 0);
  std::string why;
  ASSERT_TRUE(a.Start(&why)) << why;
  const size_t refusals_before = RetiredKeyRefusals(a, "CERT-B");
  ASSERT_NO_FATAL_FAILURE(ExpectOldKeyRefused(a, b, *old_link, refusals_before));

  // B, with its current key, links again with A.
  ASSERT_TRUE(b.Start(&why)) << why;
  EXPECT_TRUE(WaitFor([&] { return LinkOf(a, "CERT-B") == "up" && LinkOf(b, "CERT-A") == "up"; },
                      std::chrono::seconds(30)))
      << "A: " << a.PeerState("CERT-B").dump() << "\nA log:\n" << a.node().LogText();
  // And records still flow over that link.
  const std::vector<std::string> sent = SubmitBatch(b, 21, 3);
  ASSERT_NO_FATAL_FAILURE(WaitSettled(b, a));
  for (const auto& v : sent) EXPECT_FALSE(a.Lookup(v).is_null()) << v;
}

// A missing link.key no longer stops the daemon (exit 78): it makes one,
// certified by the identity key, and audits it. A broken one still stops it.
TEST(LinkKeyStartTest, MissingLinkKeyIsMadeAtStartAndABrokenOneStillRefused) {
  TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  const std::filesystem::path link = node.dir() / "link.key";
  std::filesystem::remove(link);
  std::string why;
  ASSERT_TRUE(node.Start(&why)) << why;
  std::string error;
  auto made = crypto::LoadLinkKeyFile(link, &error);
  ASSERT_TRUE(made.has_value()) << error;
  EXPECT_GT(made->serial, 0u);
  bool audited = false;
  nlohmann::json audit = node.CliJson({"audit", "--limit", "100"});
  for (const auto& e : audit["entries"]) {
    if (e.value("action", "") == "link-key-create") audited = true;
  }
  EXPECT_TRUE(audited) << audit.dump();
  EXPECT_EQ(node.Stop(), 0);

  WriteFile(link, "caravan-link-key v2\nAAAA\n");
  ::chmod(link.c_str(), 0600);
  node.Spawn();
  auto status = node.WaitForDaemonExit(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 78);
  EXPECT_NE(node.LogText().find("link.key"), std::string::npos) << node.LogText();
}

}  // namespace
}  // namespace caravan::integration
