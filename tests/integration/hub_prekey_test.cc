// Forward secrecy through a hub (docs/federation.md, "Prekeys"): three
// real caravand nodes on loopback, A and C linked only to the hub H, with
// prekeys rotated every few seconds.
//  - C rotates while offline; envelopes A sealed to C's older prekey still
//    open inside the grace period, and A picks up C's new statement when
//    it reconnects;
//  - an envelope sealed to a prekey C erased (offline past not-after +
//    grace) is refused at C with the reason, A holds new batches meanwhile
//    (awaiting_prekey), then seals the batch again to C's current prekey
//    and it is delivered once; the envelope bytes captured from the hub's
//    queue do not open with C's identity key.
// Every wait is a bounded poll on a condition.

#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "crypto/identity_x25519.h"
#include "crypto/key_file.h"
#include "crypto/seal.h"
#include "protocol/peer.capnp.h"
#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

std::string ReadAllText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool ReplaceInConfig(const std::filesystem::path& config,
                     const std::string& from, const std::string& to) {
  std::string text = ReadAllText(config);
  const size_t at = text.find(from);
  if (at == std::string::npos) return false;
  text.replace(at, from.size(), to);
  std::ofstream(config, std::ios::trunc) << text;
  return true;
}

std::string MemberEntry(const FedNode& n, const std::string& extra) {
  return "\n[[member]]\nname = \"" + n.name() + "\"\ncountry = \"" +
         n.country() + "\"\nkey = \"" + n.key() + "\"\n" + extra;
}

json Listed(const FedNode& n, const std::string& peer) {
  json doc = n.CliJson({"peers", "list"});
  if (!doc.contains("peers")) return nullptr;
  for (const auto& p : doc["peers"]) {
    if (p["name"] == peer) return p;
  }
  return nullptr;
}

// The id of `peer`'s prekey `n` holds (0: none).
uint64_t PrekeyId(const FedNode& n, const std::string& peer) {
  json p = Listed(n, peer);
  if (p.is_null() || !p.contains("prekey") || !p["prekey"].is_object()) {
    return 0;
  }
  return p["prekey"].value("id", uint64_t{0});
}

bool Audited(const FedNode& n, const std::string& action,
             const std::string& needle = "") {
  for (const auto& e : n.Audit()) {
    if (e["action"] == action &&
        (needle.empty() || e.dump().find(needle) != std::string::npos)) {
      return true;
    }
  }
  return false;
}

// The envelopes hub `h` holds for anyone (its queue, read from its SQLite
// file; WAL mode lets us read while it runs).
std::vector<std::vector<uint8_t>> HubQueue(const FedNode& h) {
  std::vector<std::vector<uint8_t>> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(h.node().database().c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT envelope FROM hub_queue ORDER BY hub_seq",
                     -1, &st, nullptr);
  while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, 0));
    out.emplace_back(p, p + sqlite3_column_bytes(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// The recipientKeyId of a sealed envelope's header (what the hub reads).
std::vector<uint8_t> RecipientKeyId(const std::vector<uint8_t>& envelope) {
  auto info = crypto::InspectEnvelope(envelope);
  if (!info || info->header.size() % sizeof(capnp::word) != 0) return {};
  std::vector<capnp::word> words(info->header.size() / sizeof(capnp::word));
  std::memcpy(words.data(), info->header.data(), info->header.size());
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
  auto id = reader.getRoot<protocol::wire::SealedHeader>().getRecipientKeyId();
  return {id.begin(), id.end()};
}

class HubPrekeyTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (FedNode* n : {&a_, &h_, &c_}) {
      if (n->node().running()) {
        EXPECT_EQ(n->Stop(), 0) << n->name() << " log:\n"
                                << n->node().LogText();
      }
    }
  }

  // Every node rotates its prekey every `rotate` and keeps a secret
  // `grace` after expiry; A resends after `resend`.
  void Configure(const std::string& rotate, const std::string& grace,
                 const std::string& resend) {
    ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok())
        << a_.why() << h_.why() << c_.why();
    ASSERT_TRUE(ReplaceInConfig(h_.node().config(), "enabled = false",
                                "enabled = true"));
    for (FedNode* n : {&a_, &h_, &c_}) {
      ASSERT_TRUE(ReplaceInConfig(n->node().config(), "prekey_rotate = \"1d\"",
                                  "prekey_rotate = \"" + rotate + "\""));
      ASSERT_TRUE(ReplaceInConfig(n->node().config(), "prekey_grace = \"2d\"",
                                  "prekey_grace = \"" + grace + "\""));
      ASSERT_TRUE(ReplaceInConfig(n->node().config(), "resend_after = \"1m\"",
                                  "resend_after = \"" + resend + "\""));
    }
  }

  void StartAndRoute() {
    for (FedNode* n : {&a_, &h_, &c_}) {
      std::string why;
      ASSERT_TRUE(n->Start(&why)) << why;
    }
    std::ofstream(a_.node().dir() / "roster.toml", std::ios::app)
        << MemberEntry(h_, "endpoint = \"" + h_.endpoint() + "\"\n") +
               MemberEntry(c_, "via = \"HUB\"\n");
    std::ofstream(c_.node().dir() / "roster.toml", std::ios::app)
        << MemberEntry(h_, "endpoint = \"" + h_.endpoint() + "\"\n") +
               MemberEntry(a_, "via = \"HUB\"\n");
    AddPeer(h_, a_, /*dial=*/false);
    AddPeer(h_, c_, /*dial=*/false);
    for (FedNode* n : {&a_, &c_}) {
      ASSERT_EQ(n->Cli({"policy", "reload"}).exit_code, 0) << n->name();
    }
    a_.WritePolicy("uz.toml",
                   "applies_to = [\"UZ\"]\n[outbound]\nshare = true\n"
                   "max_tlp = \"amber\"\n");
    ASSERT_EQ(a_.Cli({"policy", "reload"}).exit_code, 0);
  }

  std::string Logs() {
    return "A log:\n" + a_.node().LogText() + "\nH log:\n" +
           h_.node().LogText() + "\nC log:\n" + c_.node().LogText();
  }

  FedNode a_{"CERT-A", "KZ"};
  FedNode h_{"HUB", "DE"};
  FedNode c_{"CERT-C", "UZ"};
};

TEST_F(HubPrekeyTest, RotationWhileOfflineOldEnvelopesOpenInsideTheGrace) {
  ASSERT_NO_FATAL_FAILURE(Configure("3s", "30s", "2s"));
  ASSERT_NO_FATAL_FAILURE(StartAndRoute());
  ASSERT_TRUE(WaitFor([&] { return PrekeyId(a_, c_.name()) != 0; }))
      << Listed(a_, c_.name()).dump() << Logs();
  // How long C's next rotation takes to reach the hub and A: both views
  // are polled every 10 ms; the hub's changes when C's statement arrived
  // over C's link, A's when the hub passed it on.
  const uint64_t seen = PrekeyId(a_, c_.name());
  std::chrono::steady_clock::time_point at_hub{}, at_a{};
  const auto deadline = std::chrono::steady_clock::now() + kSyncTimeout;
  while ((at_hub == decltype(at_hub){} || at_a == decltype(at_a){}) &&
         std::chrono::steady_clock::now() < deadline) {
    if (at_hub == decltype(at_hub){} && PrekeyId(h_, c_.name()) > seen) {
      at_hub = std::chrono::steady_clock::now();
    }
    if (at_a == decltype(at_a){} && PrekeyId(a_, c_.name()) > seen) {
      at_a = std::chrono::steady_clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(at_a, decltype(at_a){}) << Logs();
  ASSERT_NE(at_hub, decltype(at_hub){}) << Logs();
  std::cout << "[prekey] C's new statement seen at A "
            << std::chrono::duration_cast<std::chrono::milliseconds>(at_a -
                                                                    at_hub)
                   .count()
            << " ms after the hub (polled every 10 ms, one CLI call each)\n";
  EXPECT_EQ(Listed(a_, c_.name())["awaiting_prekey"], false);

  // C goes offline; A seals to the prekey it holds and the hub queues it.
  ASSERT_EQ(c_.Stop(), 0);
  const std::string early = "early.prekey-5b1e.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", early, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    json p = Listed(a_, c_.name());
    return !p.is_null() && p["queued_at_hub"] == 1;
  })) << Listed(a_, c_.name()).dump() << Logs();
  auto queued = HubQueue(h_);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(RecipientKeyId(queued[0]).size(), 8u)
      << "the batch is not sealed to a prekey";
  const uint64_t sealed_to = PrekeyId(a_, c_.name());
  // A goes offline too; C comes back after its prekey's rotation time,
  // rotates, and still opens what was sealed to the older one.
  ASSERT_EQ(a_.Stop(), 0);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  std::string why;
  ASSERT_TRUE(c_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(early).is_null(); })) << Logs();
  EXPECT_FALSE(Audited(c_, "sealed_refuse"));
  // A reconnects and picks up C's newer statement from the hub.
  ASSERT_TRUE(a_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return PrekeyId(a_, c_.name()) > sealed_to; }))
      << Listed(a_, c_.name()).dump() << Logs();
  const std::string later = "later.prekey-5b1e.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", later, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(later).is_null(); })) << Logs();
  EXPECT_EQ(c_.Values().count(early), 1u);
  EXPECT_TRUE(Audited(c_, "prekey_rotate"));
}

TEST_F(HubPrekeyTest, ExpiredPrekeyIsRefusedResealedAndTheCaptureStaysClosed) {
  ASSERT_NO_FATAL_FAILURE(Configure("2s", "2s", "2s"));
  ASSERT_NO_FATAL_FAILURE(StartAndRoute());
  ASSERT_TRUE(WaitFor([&] { return PrekeyId(a_, c_.name()) != 0; }))
      << Logs();
  ASSERT_EQ(c_.Stop(), 0);
  const std::string value = "resealed.prekey-5b1e.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", value, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    json p = Listed(a_, c_.name());
    return !p.is_null() && p["queued_at_hub"] == 1;
  })) << Listed(a_, c_.name()).dump() << Logs();
  auto queued = HubQueue(h_);
  ASSERT_EQ(queued.size(), 1u);
  const std::vector<uint8_t> captured = queued[0];  // what a hub could keep
  // C's statement expires at A while C is away: A holds new batches for C
  // rather than seal them to C's identity key, shows it and audits it once.
  ASSERT_TRUE(WaitFor([&] {
    return Listed(a_, c_.name())["awaiting_prekey"] == true;
  })) << Listed(a_, c_.name()).dump() << Logs();
  EXPECT_TRUE(Audited(a_, "prekey_awaited", c_.name()));
  CommandResult table = a_.Cli({"peers", "list"});
  EXPECT_NE(table.out.find("awaiting prekey"), std::string::npos)
      << table.out;
  const std::string held = "held.prekey-5b1e.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", held, "--tlp", "green"}).exit_code, 0);
  // Past the prekey's not-after (at most 4 s after it was made) plus the
  // 2 s grace: C erases it as it starts.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(HubQueue(h_).size(), 1u) << "A sealed while it had no prekey";
  std::string why;
  ASSERT_TRUE(c_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(value).is_null(); })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(held).is_null(); })) << Logs();
  EXPECT_EQ(c_.Values().count(value), 1u);
  EXPECT_EQ(c_.Values().count(held), 1u);
  EXPECT_TRUE(Audited(c_, "prekey_erase"));
  EXPECT_TRUE(Audited(c_, "sealed_refuse", "prekey we do not hold"))
      << Logs();
  EXPECT_TRUE(WaitFor([&] {
    return Audited(a_, "hub_fault_reported", "prekey we do not hold");
  })) << Logs();
  EXPECT_NE(a_.node().LogText().find("batches again to its prekey"),
            std::string::npos)
      << Logs();
  EXPECT_EQ(Listed(a_, c_.name())["awaiting_prekey"], false);

  // The captured envelope names a prekey C has erased; C's identity key
  // alone does not open it.
  EXPECT_EQ(RecipientKeyId(captured).size(), 8u);
  std::string error;
  auto identity =
      crypto::LoadIdentityKey(c_.node().dir() / "identity.key", &error);
  ASSERT_NE(identity, nullptr) << error;
  auto leaked = crypto::IdentityToX25519Key(*identity);
  EXPECT_FALSE(crypto::Open(captured, *leaked).has_value());
}

// The hub keeps the members' prekey statements on disk (table
// hub_prekey_book): restarted while C is down, it serves C's current
// prekey to A (restarted too, so A holds nothing of C's but what the hub
// serves), A seals to it, and C opens the envelope when it returns.
TEST_F(HubPrekeyTest, RestartedHubServesTheOwnersPrekeyBeforeItReconnects) {
  ASSERT_NO_FATAL_FAILURE(Configure("1d", "2d", "2s"));
  ASSERT_NO_FATAL_FAILURE(StartAndRoute());
  ASSERT_TRUE(WaitFor([&] {
    return PrekeyId(a_, c_.name()) != 0 && PrekeyId(h_, c_.name()) != 0;
  })) << Logs();
  const uint64_t c_prekey = PrekeyId(h_, c_.name());
  ASSERT_EQ(PrekeyId(a_, c_.name()), c_prekey);
  for (FedNode* n : {&c_, &a_, &h_}) ASSERT_EQ(n->Stop(), 0) << n->name();
  std::string why;
  ASSERT_TRUE(h_.Start(&why)) << why;
  // Served from the hub's book the moment it runs, C still down.
  EXPECT_EQ(PrekeyId(h_, c_.name()), c_prekey) << Listed(h_, c_.name()).dump();
  EXPECT_NE(h_.node().LogText().find("prekey statements kept by this hub"),
            std::string::npos)
      << Logs();
  ASSERT_TRUE(a_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return PrekeyId(a_, c_.name()) == c_prekey; }))
      << Listed(a_, c_.name()).dump() << Logs();
  EXPECT_EQ(Listed(a_, c_.name())["awaiting_prekey"], false);

  const std::string value = "kept.prekey-book-5b1e.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", value, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    json p = Listed(a_, c_.name());
    return !p.is_null() && p["queued_at_hub"] == 1;
  })) << Listed(a_, c_.name()).dump() << Logs();
  auto queued = HubQueue(h_);
  ASSERT_EQ(queued.size(), 1u);
  std::vector<uint8_t> want_key_id(8);
  for (int i = 0; i < 8; ++i) {
    want_key_id[7 - i] = static_cast<uint8_t>(c_prekey >> (8 * i));
  }
  EXPECT_EQ(RecipientKeyId(queued[0]), want_key_id)
      << "not sealed to the prekey the restarted hub served";

  ASSERT_TRUE(c_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(value).is_null(); })) << Logs();
  EXPECT_EQ(c_.Values().count(value), 1u);
  EXPECT_FALSE(Audited(c_, "sealed_refuse")) << Logs();
  EXPECT_FALSE(Audited(h_, "hub_prekey_refused")) << Logs();
  // A counts it delivered on C's receipt.
  EXPECT_TRUE(WaitFor([&] {
    json p = Listed(a_, c_.name());
    return !p.is_null() && p.value("awaiting_receipt", -1) == 0;
  })) << Listed(a_, c_.name()).dump() << Logs();
}

}  // namespace
}  // namespace caravan::integration
