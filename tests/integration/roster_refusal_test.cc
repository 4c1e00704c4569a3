// "Not on my roster", told after authentication (docs/federation.md,
// Onboarding; docs/wire.md 4.4), with real daemons on loopback: KZ has UZ
// on its roster, UZ does not have KZ. KZ learns why from UZ itself, backs
// off instead of redialing every second, both audits stay at one entry per
// episode, and the link comes up promptly once UZ adds KZ. A fake "UZ"
// that answers the handshake with a refusal in the clear is an ordinary
// failure: no authenticated refusal, no long backoff.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/identity_key.h"
#include "crypto/key_text.h"
#include "daemon/link/frame_codec.h"
#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

// The `peers list --json` entry of `peer` at `n`, or null.
json PeerEntry(const FedNode& n, const std::string& peer) {
  CommandResult r = n.Cli({"--json", "peers", "list"});
  auto doc = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) return nullptr;
  const json list = doc.is_array() ? doc : doc.value("peers", json::array());
  for (const auto& p : list) {
    if (p.value("name", std::string()) == peer) return p;
  }
  return nullptr;
}

// Audit entries at `n` whose action starts with "link-roster_refus".
size_t RefusalAuditRows(const FedNode& n) {
  size_t rows = 0;
  for (const auto& e : n.Audit()) {
    if (e.value("action", std::string()).rfind("link-roster_refus", 0) == 0) ++rows;
  }
  return rows;
}

size_t AuditRows(const FedNode& n, const std::string& action) {
  size_t rows = 0;
  for (const auto& e : n.Audit()) rows += e.value("action", std::string()) == action;
  return rows;
}

uint64_t RefusalCount(const json& entry) {
  if (!entry.is_object() || !entry.contains("refusal") || !entry["refusal"].is_object()) {
    return 0;
  }
  return entry["refusal"].value("count", uint64_t{0});
}

class RosterRefusalTest : public FederationFixture {};

TEST_F(RosterRefusalTest, OneSidedPeerIsToldAuthenticatedBacksOffAndLinksOnceAdded) {
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& uz = Make("CERT-UZ", "UZ");
  kz.ShareWith("UZ", "green");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  AddPeer(kz, uz, /*dial=*/true);  // UZ does not add KZ (yet)

  // KZ shows UZ's authenticated reason within a few seconds.
  json entry;
  ASSERT_TRUE(WaitFor(
      [&] {
        entry = PeerEntry(kz, "CERT-UZ");
        return RefusalCount(entry) >= 1;
      },
      std::chrono::seconds(20)))
      << entry.dump() << "\nKZ log:\n" << kz.node().LogText();
  EXPECT_EQ(entry["refusal"]["reason"], "not_on_roster");
  EXPECT_EQ(entry["refusal"]["authenticated"], true);
  EXPECT_GT(ParseTime(entry["refusal"]["since"]), 0);
  EXPECT_NE(entry.value("last_error", std::string())
                .find("not on CERT-UZ's roster (told by CERT-UZ, authenticated)"),
            std::string::npos)
      << entry.dump();
  CommandResult table = kz.Cli({"peers", "list"});
  EXPECT_NE(table.out.find("authenticated) since "), std::string::npos) << table.out;

  // A bounded window: few dials (the refused backoff, not one a second;
  // the fixture's dial_backoff_max is 1s) and one audit entry per side.
  const uint64_t dials_before = RefusalCount(entry);
  std::this_thread::sleep_for(std::chrono::seconds(8));
  const json after = PeerEntry(kz, "CERT-UZ");
  const uint64_t dials = RefusalCount(after) - dials_before;
  EXPECT_LE(dials, 5u) << after.dump();
  EXPECT_GE(dials, 1u) << "KZ stopped dialing altogether: " << after.dump();
  EXPECT_LE(RefusalAuditRows(kz), 2u);
  EXPECT_EQ(AuditRows(kz, "link-up"), 0u);  // no link was ever up
  EXPECT_EQ(AuditRows(kz, "link-down"), 0u);
  // UZ: the episode's first refusal (naming KZ's key), nothing per try.
  EXPECT_EQ(AuditRows(uz, "link-unknown_peer"), 1u);
  EXPECT_LE(AuditRows(uz, "link-unknown_peer") + RefusalAuditRows(uz), 2u);

  // UZ adds KZ (with KZ's endpoint, so UZ dials): the link is up at once,
  // whatever KZ's backoff, and KZ's episode ends with one summary.
  AddPeer(uz, kz, /*dial=*/true);
  ASSERT_TRUE(WaitFor(
      [&] {
        const json p = PeerEntry(kz, "CERT-UZ");
        return p.is_object() && p.value("link", std::string()) == "up";
      },
      std::chrono::seconds(10)))
      << PeerEntry(kz, "CERT-UZ").dump() << "\nKZ log:\n" << kz.node().LogText();
  ASSERT_TRUE(WaitFor([&] { return PeerEntry(kz, "CERT-UZ")["refusal"].is_null(); },
                      std::chrono::seconds(10)));
  // Records flow now.
  Submit(kz, {"domain", "after-refusal.example", "--tlp", "green"});
  EXPECT_TRUE(WaitFor([&] { return !uz.Lookup("after-refusal.example").is_null(); },
                      std::chrono::seconds(30)))
      << "UZ log:\n" << uz.node().LogText();
}

// A fake UZ: accepts KZ's dials and answers message 1 with a refusal in
// the clear (a PeerError 1027 where message 2 belongs). KZ must treat it
// as an ordinary failure: no refusal shown, dials at the ordinary pace.
TEST_F(RosterRefusalTest, ARefusalOutsideTheHandshakeKeysIsAnOrdinaryFailure) {
  FedNode& kz = Make("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartAll());

  const int server = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(server, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(server, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);

  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::thread fake([&] {
    const std::vector<uint8_t> refusal =
        daemon::link::RefusalMessage("not on the roster of CERT-UZ (UZ)");
    std::vector<uint8_t> frame = {static_cast<uint8_t>(refusal.size() >> 8),
                                  static_cast<uint8_t>(refusal.size() & 0xff)};
    frame.insert(frame.end(), refusal.begin(), refusal.end());
    while (!stop) {
      pollfd p{server, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const int c = accept(server, nullptr, nullptr);
      if (c < 0) continue;
      ++accepted;
      uint8_t m1[34];
      size_t got = 0;
      while (got < sizeof(m1)) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        const ssize_t n = recv(c, m1 + got, sizeof(m1) - got, 0);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      (void)send(c, frame.data(), frame.size(), MSG_NOSIGNAL);
      close(c);
    }
  });

  auto fake_uz = crypto::IdentityKey::Generate();
  CommandResult r = kz.Cli({"peers", "add", "CERT-UZ", "--country", "UZ", "--key",
                            crypto::KeyText(fake_uz->public_key()), "--endpoint",
                            "127.0.0.1:" + std::to_string(port)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // Ordinary backoff (capped at 1s by the fixture): six dials come within
  // seconds; the refused schedule (1, 2, 4, 8 s ...) would give four in 8 s.
  const bool redialed = WaitFor([&] { return accepted >= 6; }, std::chrono::seconds(30));
  stop = true;
  fake.join();
  close(server);
  EXPECT_TRUE(redialed) << "only " << accepted << " dials\nKZ log:\n" << kz.node().LogText();
  const json entry = PeerEntry(kz, "CERT-UZ");
  EXPECT_TRUE(entry["refusal"].is_null()) << entry.dump();
  EXPECT_EQ(entry.value("last_error", std::string()).find("not on"), std::string::npos)
      << entry.dump();
  EXPECT_EQ(RefusalAuditRows(kz), 0u);
}

}  // namespace
}  // namespace caravan::integration
