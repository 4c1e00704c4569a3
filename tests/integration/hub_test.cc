// Hub mode end to end (docs/federation.md): three real caravand nodes on
// loopback, A and C linked only to the hub H. Records A's policy allows for
// C's country arrive at C sealed through H, verified with A as origin;
// records A withholds from C never leave; kill -9 of H in the middle of a
// transfer loses nothing; H's database never holds a plaintext value.
// Operations: routes set up with `caravan peers add --via` alone, bad
// routes refused with the reason, the hub's queue depth per member in
// `caravan peers list` / `caravan status` and /metrics while the recipient
// is down and after it caught up.
// Every wait is a bounded poll on a condition.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/hub_helpers.h"
#include "tests/integration/metrics_samples.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void AppendFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::app);
  out << text;
}

std::string Member(const FedNode& n, const std::string& extra) {
  return "\n[[member]]\nname = \"" + n.name() + "\"\ncountry = \"" +
         n.country() + "\"\nkey = \"" + n.key() + "\"\n" + extra;
}

// A member's acknowledged point at `n` (through the hub for via members).
int64_t Acked(const FedNode& n, const std::string& peer) {
  json p = n.PeerState(peer);
  return p.is_null() ? -1 : p.value("acked_seq", int64_t{-1});
}

// Replaces the first `from` after the line `table` in `config`; false if
// either is missing.
bool EditConfig(const std::filesystem::path& config, const std::string& table,
                const std::string& from, const std::string& to) {
  std::string text = ReadAll(config);
  const size_t at = text.find(table);
  if (at == std::string::npos) return false;
  const size_t key = text.find(from, at);
  if (key == std::string::npos) return false;
  text.replace(key, from.size(), to);
  std::ofstream(config, std::ios::trunc) << text;
  return true;
}

// /metrics samples (empty when unreachable).
std::map<std::string, double> Scrape(uint16_t port) {
  HttpReply r = HttpGet(port, "/metrics");
  if (r.status != 200) return {};
  return ParseMetricSamples(r.body);
}

// True once `n` holds a valid prekey of `peer` (forward secrecy: a member
// seals to `peer` only then, docs/federation.md "Prekeys").
bool KnowsPrekey(const FedNode& n, const std::string& peer) {
  json p = ListedPeer(n, peer);
  return !p.is_null() && p.contains("prekey") && p["prekey"].is_object();
}

// What hub `h` holds for `peer` (envelopes, bytes), per `peers list`;
// {-1, -1} when unknown.
std::pair<int64_t, int64_t> Queued(const FedNode& h, const std::string& peer) {
  json p = ListedPeer(h, peer);
  if (p.is_null() || !p["hub_queued_envelopes"].is_number()) return {-1, -1};
  return {p["hub_queued_envelopes"].get<int64_t>(),
          p["hub_queued_bytes"].get<int64_t>()};
}

// Test-only fault injection (hub accountability): edits the stopped hub's
// queue for `sender`'s envelopes in its SQLite file, the way a misbehaving
// or broken hub would. Returns how many of the sender's rows it found
// before editing; each fault is applied to the rows in queue order:
//   rows[0] duplicated at the end of the queue (a copy under a new id: a
//   replay of what the recipient applied by then), rows[1] dropped,
//   rows[2] and rows[3] swapped (reordered), rows[4] corrupted (one
//   ciphertext byte flipped).
int InjectHubFaults(const std::filesystem::path& db_path,
                    const std::string& sender) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  struct Row {
    int64_t hub_seq;
    std::string id;
    std::string envelope;
  };
  std::vector<Row> rows;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT hub_seq, envelope_id, envelope FROM hub_queue "
                     "WHERE sender = ? ORDER BY hub_seq",
                     -1, &st, nullptr);
  sqlite3_bind_text(st, 1, sender.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto blob = [&](int col) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st, col));
      return std::string(p, p + sqlite3_column_bytes(st, col));
    };
    rows.push_back({sqlite3_column_int64(st, 0), blob(1), blob(2)});
  }
  sqlite3_finalize(st);
  const int found = static_cast<int>(rows.size());
  auto exec = [&](const char* sql, const std::vector<std::string>& blobs,
                  int64_t seq) {
    sqlite3_stmt* w = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &w, nullptr);
    int i = 1;
    for (const auto& b : blobs) {
      sqlite3_bind_blob(w, i++, b.data(), static_cast<int>(b.size()),
                        SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(w, i, seq);
    const bool ok = sqlite3_step(w) == SQLITE_DONE;
    sqlite3_finalize(w);
    return ok;
  };
  bool ok = found >= 5;
  if (ok) {
    // Duplicate: the same sealed bytes again, later, under a fresh id.
    std::string copy_id = rows[0].id;
    copy_id[0] = static_cast<char>(copy_id[0] ^ 0x5a);
    ok = exec("INSERT INTO hub_queue (envelope_id, sender, sender_key, "
              "recipient_key, first_seq, up_to_seq, envelope, "
              "stored_at, envelope_bytes) SELECT ?, sender, "
              "sender_key, recipient_key, first_seq, up_to_seq, "
              "envelope, stored_at, envelope_bytes FROM hub_queue "
              "WHERE hub_seq = ?",
              {copy_id}, rows[0].hub_seq);
    // Drop.
    ok = ok && exec("DELETE FROM hub_queue WHERE hub_seq = ?", {},
                    rows[1].hub_seq);
    // Reorder: rows 2 and 3 trade places (bytes and ids move together).
    ok = ok && exec("UPDATE hub_queue SET envelope_id = zeroblob(16) WHERE "
                    "hub_seq = ?", {}, rows[2].hub_seq);
    ok = ok && exec("UPDATE hub_queue SET envelope_id = ?, envelope = ? "
                    "WHERE hub_seq = ?",
                    {rows[2].id, rows[2].envelope}, rows[3].hub_seq);
    ok = ok && exec("UPDATE hub_queue SET envelope_id = ?, envelope = ? "
                    "WHERE hub_seq = ?",
                    {rows[3].id, rows[3].envelope}, rows[2].hub_seq);
    // Corrupt: bit rot in the last ciphertext byte.
    std::string rotten = rows[4].envelope;
    rotten.back() = static_cast<char>(rotten.back() ^ 0x01);
    ok = ok && exec("UPDATE hub_queue SET envelope = ? WHERE hub_seq = ?",
                    {rotten}, rows[4].hub_seq);
  }
  sqlite3_close(db);
  return ok ? found : -found - 1;
}

// Test-only fault injection (chain restart): in the stopped sender's and
// hub's databases, deletes the sender's outbox row of its `nth` (0-based)
// unreceipted sealed batch and the hub's queued copy of it (matched by the
// log point it decides), as if the sender's disk lost the row and the hub
// the envelope. Returns the pair seq deleted, or -1.
int64_t LoseOutboxRow(const std::filesystem::path& sender_db,
                      const std::filesystem::path& hub_db,
                      const std::string& sender, int nth) {
  int64_t pair_seq = -1, up_to = -1;
  sqlite3* db = nullptr;
  if (sqlite3_open(sender_db.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT pair_seq, up_to_seq FROM sealed_outbox ORDER BY "
                     "pair_seq LIMIT 1 OFFSET ?",
                     -1, &st, nullptr);
  sqlite3_bind_int(st, 1, nth);
  if (sqlite3_step(st) == SQLITE_ROW) {
    pair_seq = sqlite3_column_int64(st, 0);
    up_to = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  bool ok = pair_seq > 0;
  if (ok) {
    sqlite3_prepare_v2(db, "DELETE FROM sealed_outbox WHERE pair_seq = ?", -1,
                       &st, nullptr);
    sqlite3_bind_int64(st, 1, pair_seq);
    ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  if (!ok || sqlite3_open(hub_db.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_prepare_v2(db,
                     "DELETE FROM hub_queue WHERE sender = ? AND up_to_seq = ?",
                     -1, &st, nullptr);
  sqlite3_bind_text(st, 1, sender.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, up_to);
  ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ok ? pair_seq : -1;
}

class HubTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (FedNode* n : {&a_, &h_, &c_}) {
      if (n->node().running()) {
        EXPECT_EQ(n->Stop(), 0) << n->name() << " log:\n"
                                << n->node().LogText();
      }
    }
  }

  // `caravan init` writes [hub] with enabled = false: turn it on at H.
  void EnableHub() {
    ASSERT_TRUE(EditConfig(h_.node().config(), "[hub]", "enabled = false",
                           "enabled = true"));
  }
  void StartAll() {
    for (FedNode* n : {&a_, &h_, &c_}) {
      std::string why;
      ASSERT_TRUE(n->Start(&why)) << why;
    }
  }
  // Rosters: A and C reach each other only via HUB; the hub knows both
  // (and dials neither); A and C take their rosters in.
  void JoinThroughHub() {
    AppendFile(a_.node().dir() / "roster.toml",
               Member(h_, "endpoint = \"" + h_.endpoint() + "\"\n") +
                   Member(c_, "via = \"HUB\"\n"));
    AppendFile(c_.node().dir() / "roster.toml",
               Member(h_, "endpoint = \"" + h_.endpoint() + "\"\n") +
                   Member(a_, "via = \"HUB\"\n"));
    AddPeer(h_, a_, /*dial=*/false);
    AddPeer(h_, c_, /*dial=*/false);
    for (FedNode* n : {&a_, &c_}) {
      CommandResult r = n->Cli({"policy", "reload"});
      ASSERT_EQ(r.exit_code, 0) << n->name() << ": " << r.Describe();
    }
  }
  // A shares everything up to amber with UZ (C's country).
  void AShareWithUz() {
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

TEST_F(HubTest, SealedThroughTheHubArrivesVerifiedAndTheHubCannotRead) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  ASSERT_NO_FATAL_FAILURE(StartAll());
  // A shares with UZ, except what is tagged internal; H's country (DE) gets
  // nothing in the clear (default deny).
  a_.WritePolicy("uz.toml",
                 "applies_to = [\"UZ\"]\n[outbound]\nshare = true\n"
                 "max_tlp = \"amber\"\nexclude_tags = [\"internal\"]\n");
  ASSERT_NO_FATAL_FAILURE(JoinThroughHub());

  const std::string shared = "hub-shared-7f3a9c.example";
  const std::string withheld = "hub-withheld-7f3a9c.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", shared, "--tlp", "green"}).exit_code, 0);
  ASSERT_EQ(a_.Cli({"submit", "domain", withheld, "--tlp", "green", "--tag",
                    "internal"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(shared).is_null(); }))
      << Logs();
  json got = c_.Lookup(shared);
  EXPECT_EQ(got["origin_name"], a_.name());
  EXPECT_EQ(got["received_from"], a_.name());
  EXPECT_EQ(got["verified"], true);
  // Everything A decided for C is acknowledged (by the hub), and the
  // withheld record is not at C.
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << a_.PeerState(c_.name()).dump() << Logs();
  EXPECT_TRUE(c_.Lookup(withheld).is_null());
  bool withhold_audited = false;
  for (const auto& e : a_.Audit(10000, c_.name())) {
    if (e["action"] == "withhold") withhold_audited = true;
  }
  EXPECT_TRUE(withhold_audited);
  bool via_audited = false;
  for (const auto& e : c_.Audit()) {
    if (e["action"] == "sealed_receive" &&
        e.dump().find("HUB") != std::string::npos) {
      via_audited = true;
    }
  }
  EXPECT_TRUE(via_audited);

  // kill -9 of the hub during a transfer, then restart: nothing lost.
  std::vector<std::string> bulk;
  for (int i = 0; i < 3000; ++i) {
    bulk.push_back("bulk" + std::to_string(i) + ".hub-7f3a9c.example");
  }
  const auto path = a_.node().root() / "bulk.txt";
  WriteLinesFile(path, bulk);
  ASSERT_EQ(a_.Cli({"submit", "--file", path.string(), "--type", "domain",
                    "--tlp", "green"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return c_.Count() > 2; })) << Logs();
  h_.Kill();
  std::string why;
  ASSERT_TRUE(h_.Start(&why)) << why;
  const int64_t expected = 1 + 3000;
  ASSERT_TRUE(WaitFor([&] { return c_.Count() == expected; }))
      << "C holds " << c_.Count() << Logs();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << Logs();
  auto values = c_.Values();
  EXPECT_EQ(values.size(), static_cast<size_t>(expected));  // no doubles

  // The hub stored and forwarded, but holds no plaintext value.
  bool stored = false, forwarded = false;
  for (const auto& e : h_.Audit()) {
    if (e["action"] == "hub_store") stored = true;
    if (e["action"] == "hub_forward") forwarded = true;
  }
  EXPECT_TRUE(stored);
  EXPECT_TRUE(forwarded);
  ASSERT_EQ(h_.Stop(), 0);
  std::string bytes = ReadAll(h_.node().database());
  bytes += ReadAll(h_.node().database().string() + "-wal");
  EXPECT_GT(bytes.size(), 0u);
  EXPECT_EQ(bytes.find("7f3a9c"), std::string::npos)
      << "the hub's database holds a plaintext indicator value";
}

TEST_F(HubTest, PeersAddViaQueueDepthAndMetricsWhileTheRecipientIsDown) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  const uint16_t metrics_port = FreeLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  ASSERT_TRUE(EditConfig(h_.node().config(), "[metrics]", "listen = \"\"",
                         "listen = \"127.0.0.1:" +
                             std::to_string(metrics_port) + "\""));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());

  // Routes through the CLI alone. The hub does not know A or C yet, so no
  // link comes up before both routes are in place (sealed sub-sessions
  // start with the link: docs/federation.md).
  AddPeer(a_, h_);
  CommandResult via = a_.Cli({"peers", "add", c_.name(), "--country",
                              c_.country(), "--key", c_.key(), "--via",
                              h_.name()});
  ASSERT_EQ(via.exit_code, 0) << via.Describe();
  EXPECT_NE(via.out.find("via HUB"), std::string::npos) << via.out;
  AddPeer(c_, h_);
  ASSERT_EQ(c_.Cli({"peers", "add", a_.name(), "--country", a_.country(),
                    "--key", a_.key(), "--via", h_.name()})
                .exit_code,
            0);
  json listed = ListedPeer(a_, c_.name());
  ASSERT_FALSE(listed.is_null());
  EXPECT_EQ(listed["via"], "HUB");
  EXPECT_TRUE(listed["endpoint"].is_null());
  EXPECT_TRUE(listed["hub_queued_envelopes"].is_null());  // A is no hub
  EXPECT_TRUE(ListedPeer(a_, h_.name())["via"].is_null());
  CommandResult table = a_.Cli({"peers", "list"});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("via HUB"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("HUB QUEUE"), std::string::npos) << table.out;

  // Bad routes are refused with the reason, and change nothing.
  // A valid Ed25519 point no member uses (the curve's base point): the
  // route is what must be refused, not the key.
  const std::string stranger_key =
      "caravan:WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY";
  struct Bad {
    std::vector<std::string> extra;
    int exit_code;
    std::string says;
  };
  for (const Bad& bad : std::vector<Bad>{
           {{"--via", "NOPE"}, 4, "--via: no member named 'NOPE'"},
           {{"--via", c_.name()}, 4, "'CERT-C' is itself reached through a hub"},
           {{"--via", "STRANGER"}, 4, "a member cannot be its own hub"},
           {{"--via", h_.name(), "--endpoint", "127.0.0.1:9"}, 2, "excludes"},
       }) {
    std::vector<std::string> args = {"peers", "add", "STRANGER", "--country",
                                     "FR", "--key", stranger_key};
    args.insert(args.end(), bad.extra.begin(), bad.extra.end());
    CommandResult r = a_.Cli(args);
    EXPECT_EQ(r.exit_code, bad.exit_code) << bad.says << ": " << r.Describe();
    EXPECT_NE(r.err.find(bad.says), std::string::npos) << r.Describe();
  }
  EXPECT_TRUE(ListedPeer(a_, "STRANGER").is_null());
  CommandResult remove_hub = a_.Cli({"peers", "remove", h_.name()});
  EXPECT_EQ(remove_hub.exit_code, 4) << remove_hub.Describe();
  EXPECT_NE(remove_hub.err.find("HUB is the hub of CERT-C"), std::string::npos)
      << remove_hub.Describe();
  EXPECT_FALSE(ListedPeer(a_, h_.name()).is_null());

  // The hub learns both members; once A holds C's prekey, C goes down and
  // what A shares with C waits at the hub.
  AddPeer(h_, a_, /*dial=*/false);
  AddPeer(h_, c_, /*dial=*/false);
  // A seals to C only with a prekey of C, which C publishes through the
  // hub once its link is up (docs/federation.md "Prekeys").
  ASSERT_TRUE(WaitFor([&] { return KnowsPrekey(a_, c_.name()); }))
      << ListedPeer(a_, c_.name()).dump() << Logs();
  ASSERT_EQ(c_.Stop(), 0);
  const std::vector<std::string> values = {"ops-1.hub-5d21e0.example",
                                           "ops-2.hub-5d21e0.example",
                                           "ops-3.hub-5d21e0.example"};
  for (const auto& v : values) {
    ASSERT_EQ(a_.Cli({"submit", "domain", v, "--tlp", "green"}).exit_code, 0);
  }
  // Queued at the hub (its acknowledgement), not delivered: C is down, so
  // no receipt, and A's acknowledged point stays behind its log.
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a_, c_.name());
    return !p.is_null() && p["queued_at_hub"].is_number() &&
           p["queued_at_hub"].get<int64_t>() >= 1 &&
           p["queued_at_hub"] == p["awaiting_receipt"] &&
           Queued(h_, c_.name()).first == p["queued_at_hub"].get<int64_t>();
  })) << ListedPeer(a_, c_.name()).dump() << Logs();
  EXPECT_LT(Acked(a_, c_.name()), a_.LogSeq());
  size_t stored = 0;
  for (const auto& e : h_.Audit()) {
    if (e["action"] == "hub_store") ++stored;
  }
  ASSERT_GE(stored, 1u);
  const auto [queued, queued_bytes] = Queued(h_, c_.name());
  EXPECT_EQ(queued, static_cast<int64_t>(stored));
  EXPECT_GT(queued_bytes, 0);
  EXPECT_EQ(Queued(h_, a_.name()), (std::pair<int64_t, int64_t>{0, 0}));
  CommandResult hub_table = h_.Cli({"peers", "list"});
  EXPECT_NE(hub_table.out.find("HUB QUEUE"), std::string::npos)
      << hub_table.out;
  EXPECT_NE(hub_table.out.find(std::to_string(queued) + " (" +
                               std::to_string(queued_bytes) + " B)"),
            std::string::npos)
      << hub_table.out;
  json status = h_.CliJson({"status"});
  EXPECT_EQ(status["hub"]["enabled"], true);
  EXPECT_EQ(status["hub"]["queued_envelopes"], queued);
  EXPECT_EQ(status["hub"]["queued_bytes"], queued_bytes);
  CommandResult status_text = h_.Cli({"status"});
  EXPECT_NE(status_text.out.find(std::to_string(queued) +
                                 " sealed envelopes queued"),
            std::string::npos)
      << status_text.out;

  auto m = Scrape(metrics_port);
  const std::string c_label = "{recipient=\"CERT-C\"}";
  EXPECT_EQ(MetricSample(m, "caravan_hub_queued_envelopes" + c_label), queued);
  EXPECT_EQ(MetricSample(m, "caravan_hub_queued_bytes" + c_label), queued_bytes);
  EXPECT_EQ(MetricSample(m, "caravan_hub_queued_envelopes{recipient=\"CERT-A\"}"),
            0);
  EXPECT_EQ(MetricSample(m, "caravan_hub_envelopes_stored_total"), queued);
  EXPECT_EQ(MetricSample(m, "caravan_hub_envelopes_forwarded_total"), 0);
  EXPECT_EQ(
      MetricSample(m, "caravan_hub_envelopes_refused_total{reason=\"queue_full\"}"),
      0);

  // C comes back, catches up, and the hub's queue for it empties.
  std::string why;
  ASSERT_TRUE(c_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] {
    return Queued(h_, c_.name()) == std::pair<int64_t, int64_t>{0, 0};
  })) << ListedPeer(h_, c_.name()).dump() << Logs();
  for (const auto& v : values) {
    json got = c_.Lookup(v);
    ASSERT_FALSE(got.is_null()) << v << Logs();
    EXPECT_EQ(got["origin_name"], a_.name());
    EXPECT_EQ(got["verified"], true);
  }
  m = Scrape(metrics_port);
  EXPECT_EQ(MetricSample(m, "caravan_hub_queued_envelopes" + c_label), 0);
  EXPECT_EQ(MetricSample(m, "caravan_hub_queued_bytes" + c_label), 0);
  // Forwarded: A's batches, then C's receipts back to A, which record the
  // deliveries at A.
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << a_.PeerState(c_.name()).dump() << Logs();
  ASSERT_TRUE(WaitFor([&] {
    m = Scrape(metrics_port);
    return MetricSample(m, "caravan_hub_envelopes_forwarded_total") > queued &&
           MetricSample(m, "caravan_hub_forwarded_bytes_total") > queued_bytes;
  })) << Logs();
  EXPECT_EQ(h_.CliJson({"status"})["hub"]["queued_envelopes"], 0);
}

// A route through the hub added while A's link to the hub is up is used
// without restarting anything: the roster reload closes that link and the
// redialed session opens the new sealed sub-session (docs/federation.md).
TEST_F(HubTest, RouteAddedWhileTheHubLinkIsUpIsUsed) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());
  AddPeer(h_, a_, /*dial=*/false);
  AddPeer(h_, c_, /*dial=*/false);
  AddPeer(a_, h_);
  AddPeer(c_, h_);
  ASSERT_EQ(c_.Cli({"peers", "add", a_.name(), "--country", a_.country(),
                    "--key", a_.key(), "--via", h_.name()})
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] {
    json p = a_.PeerState(h_.name());
    return !p.is_null() && p["link"] == "up";
  })) << Logs();
  // Submitted before the route exists: decided for C once it does.
  const std::string before = "before-route.hub-2c81d4.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", before, "--tlp", "green"}).exit_code, 0);

  CommandResult via = a_.Cli({"peers", "add", c_.name(), "--country",
                              c_.country(), "--key", c_.key(), "--via",
                              h_.name()});
  ASSERT_EQ(via.exit_code, 0) << via.Describe();
  const std::string after = "after-route.hub-2c81d4.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", after, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    return !c_.Lookup(before).is_null() && !c_.Lookup(after).is_null();
  })) << Logs();
  EXPECT_EQ(c_.Lookup(after)["origin_name"], a_.name());
  EXPECT_EQ(c_.Lookup(after)["verified"], true);
  EXPECT_NE(a_.node().LogText().find("hub routes via HUB changed"),
            std::string::npos)
      << Logs();
  // The link came back for the direct session too.
  ASSERT_TRUE(WaitFor([&] {
    json p = a_.PeerState(h_.name());
    return !p.is_null() && p["link"] == "up";
  })) << Logs();
}

// Hub accountability (docs/federation.md): a hub that drops, duplicates,
// reorders and corrupts queued envelopes is caught by the recipient's
// chain check, reported to the sender with a signed receipt, and every
// record still arrives exactly once, in order, without the link flapping.
// A's deliveries wait for C's receipt, not for the hub's word.
TEST_F(HubTest, HubFaultsAreDetectedReportedAndRepaired) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  for (FedNode* n : {&a_, &c_}) {
    ASSERT_TRUE(EditConfig(n->node().config(), "[hub]",
                           "resend_after = \"1m\"", "resend_after = \"2s\""));
  }
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(JoinThroughHub());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());

  // The chain starts: one record through, receipted by C.
  const std::string warm = "warm.hub-acct-41c2.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", warm, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(warm).is_null(); })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << Logs();
  auto shares = [&] {
    size_t n = 0;
    for (const auto& e : a_.Audit(10000, c_.name())) {
      if (e["action"] == "share") ++n;
    }
    return n;
  };
  const size_t shares_before = shares();

  // C goes down; five envelopes (one record each) queue at the hub. The
  // revised indicator goes out as revision 1 in the first (to be
  // replayed) and revision 2 in the last (to be corrupted); "two" is in
  // the one the hub drops.
  ASSERT_EQ(c_.Stop(), 0);
  const std::string revised = "revised.hub-acct-41c2.example";
  std::vector<std::vector<std::string>> submits = {
      {"submit", "domain", revised, "--tlp", "green"},
      {"submit", "domain", "two.hub-acct-41c2.example", "--tlp", "green"},
      {"submit", "domain", "three.hub-acct-41c2.example", "--tlp", "green"},
      {"submit", "domain", "four.hub-acct-41c2.example", "--tlp", "green"},
      {"submit", "domain", revised, "--tlp", "amber"}};
  for (size_t i = 0; i < submits.size(); ++i) {
    ASSERT_EQ(a_.Cli(submits[i]).exit_code, 0);
    ASSERT_TRUE(WaitFor([&] {
      json p = ListedPeer(a_, c_.name());
      return !p.is_null() && p["queued_at_hub"] == static_cast<int>(i + 1);
    })) << ListedPeer(a_, c_.name()).dump() << Logs();
  }
  // Queued at the hub is not delivered: no deliveries, no share audit.
  json listed = ListedPeer(a_, c_.name());
  EXPECT_EQ(listed["awaiting_receipt"], 5);
  EXPECT_LT(listed["delivered_seq"].get<int64_t>(), a_.LogSeq());
  EXPECT_EQ(shares(), shares_before);

  // The hub misbehaves while down: drop, duplicate, reorder, corrupt.
  ASSERT_EQ(h_.Stop(), 0);
  ASSERT_EQ(InjectHubFaults(h_.node().database(), a_.name()), 5);
  std::string why;
  ASSERT_TRUE(h_.Start(&why)) << why;
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(c_.Start(&why)) << why;
  auto audited_at = [](const FedNode& n, const std::string& action) {
    size_t k = 0;
    for (const auto& e : n.Audit()) {
      if (e["action"] == action) ++k;
    }
    return k;
  };
  ASSERT_TRUE(WaitFor([&] { return audited_at(c_, "hub_gap") > 0; }))
      << Logs();
  const auto detected = std::chrono::steady_clock::now();
  const std::vector<std::string> expected = {
      warm, revised, "two.hub-acct-41c2.example",
      "three.hub-acct-41c2.example", "four.hub-acct-41c2.example"};
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : expected) {
      if (c_.Lookup(v).is_null()) return false;
    }
    return c_.Lookup(revised)["revision"] == 2;
  })) << Logs();
  const auto recovered = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << ListedPeer(a_, c_.name()).dump() << Logs();
  const auto receipted = std::chrono::steady_clock::now();
  auto ms = [&](auto t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - back)
        .count();
  };
  std::cout << "[hub accountability] from the hub's restart: detected "
            << ms(detected) << " ms, all records at C " << ms(recovered)
            << " ms, receipted at A " << ms(receipted) << " ms\n";

  // Exactly once: one indicator per value, the revised one at revision 2.
  auto values = c_.Values();
  for (const auto& v : expected) EXPECT_EQ(values.count(v), 1u) << v;
  EXPECT_EQ(values.size(), expected.size());
  EXPECT_EQ(c_.Lookup(revised)["tlp"], "amber");
  // Detected and audited at C with the evidence; reported to A.
  bool evidence = false;
  for (const auto& e : c_.Audit()) {
    if (e["action"] != "hub_gap") continue;
    const std::string d = e.dump();
    evidence = d.find("expected_seq") != std::string::npos &&
               d.find("got_seq") != std::string::npos &&
               d.find("HUB") != std::string::npos;
  }
  EXPECT_TRUE(evidence);
  EXPECT_GE(audited_at(c_, "sealed_refuse"), 1u);  // the corrupted one
  EXPECT_GE(audited_at(c_, "sealed_duplicate"), 1u);
  ASSERT_TRUE(WaitFor([&] { return audited_at(a_, "hub_fault_reported") > 0; }))
      << Logs();
  json c_view = ListedPeer(c_, a_.name());
  ASSERT_TRUE(c_view["hub_faults"].is_object()) << c_view.dump();
  EXPECT_GE(c_view["hub_faults"]["gaps"].get<int64_t>(), 1);
  EXPECT_GE(c_view["hub_faults"]["refused"].get<int64_t>(), 1);
  // The deliveries came with the receipt.
  EXPECT_GT(shares(), shares_before);
  EXPECT_TRUE(WaitFor([&] {
    return ListedPeer(a_, c_.name())["awaiting_receipt"] == 0;
  })) << ListedPeer(a_, c_.name()).dump();
  // The link did not flap: C's link to the hub went down at most once
  // (when C stopped), and stays up.
  size_t downs = 0;
  for (const auto& e : c_.Audit()) {
    if (e["action"] == "link-down" && e.dump().find("HUB") != std::string::npos) {
      ++downs;
    }
  }
  EXPECT_LE(downs, 2u) << "the link to the hub flapped";
  EXPECT_EQ(ListedPeer(c_, h_.name())["link"], "up");
}

// A hub that silently loses the last envelope (nothing after it reveals a
// gap): A sends it again after [hub] resend_after, and C applies it once.
TEST_F(HubTest, EnvelopeTheHubLostIsResentAfterTheTimeout) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  ASSERT_TRUE(EditConfig(a_.node().config(), "[hub]", "resend_after = \"1m\"",
                         "resend_after = \"2s\""));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(JoinThroughHub());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());
  ASSERT_TRUE(WaitFor([&] { return KnowsPrekey(a_, c_.name()); }))
      << ListedPeer(a_, c_.name()).dump() << Logs();
  ASSERT_EQ(c_.Stop(), 0);
  const std::string lost = "lost.hub-acct-9e07.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", lost, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a_, c_.name());
    return !p.is_null() && p["queued_at_hub"] == 1;
  })) << ListedPeer(a_, c_.name()).dump() << Logs();
  // The hub loses it.
  ASSERT_EQ(h_.Stop(), 0);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(h_.node().database().c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "DELETE FROM hub_queue", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_close(db);
  }
  std::string why;
  ASSERT_TRUE(h_.Start(&why)) << why;
  ASSERT_TRUE(c_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(lost).is_null(); })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << Logs();
  EXPECT_EQ(c_.Values().count(lost), 1u);
  EXPECT_NE(a_.node().LogText().find("no receipt within [hub] resend_after"),
            std::string::npos)
      << Logs();
}

// Identity key rotation of a member that reaches the others only through a
// hub (issue 16; docs/federation.md "Identity key rotation"): A rotates
// (`caravan key rotate`) while sealing to C through H. H takes the
// statement on its direct link and relays it; C learns it from H and keeps
// receiving A's records sealed through the hub, before, across and after
// the rotation (and a revision of an indicator made under the old key),
// each exactly once, none refused.
TEST_F(HubTest, MemberBehindTheHubRotatesItsIdentityKeyAndKeepsSending) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(JoinThroughHub());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());
  const std::string k0 = a_.key();

  std::vector<std::string> values;
  auto submit = [&](const std::string& v) {
    values.push_back(v);
    // Retried while A reloads under its new key (its socket is away).
    return WaitFor([&] {
      return a_.Cli({"submit", "domain", v, "--tlp", "green"}).exit_code == 0;
    });
  };
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(submit("before" + std::to_string(i) + ".hub-rot-41c2.example"));
  }
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(values.back()).is_null(); }))
      << Logs();

  // Across: submitted right before the rotation, still under K0.
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(submit("across" + std::to_string(i) + ".hub-rot-41c2.example"));
  }
  CommandResult rotated = a_.Cli({"key", "rotate", "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  const json out = json::parse(rotated.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << rotated.out;
  const std::string k1 = out.value("new_key", "");
  ASSERT_EQ(out.value("old_key", ""), k0);
  ASSERT_NE(k1, k0);

  // The hub (direct link) and C (only through the hub) take the new key.
  auto pinned = [&](const FedNode& n) {
    const json p = ListedPeer(n, a_.name());
    return p.is_null() ? std::string() : p.value("key", "");
  };
  ASSERT_TRUE(WaitFor([&] { return pinned(h_) == k1; })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return pinned(c_) == k1; })) << Logs();

  // After: new indicators (origin K1) and a revision of one made under K0.
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(submit("after" + std::to_string(i) + ".hub-rot-41c2.example"));
  }
  ASSERT_TRUE(WaitFor([&] {
    return a_.Cli({"submit", "domain", values[0], "--tlp", "green", "--confidence", "41"})
               .exit_code == 0;
  }));
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : values) {
      if (c_.Lookup(v).is_null()) return false;
    }
    return c_.Lookup(values[0]).value("revision", 0) == 2;
  })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << a_.PeerState(c_.name()).dump() << Logs();
  const auto held = c_.Values();
  size_t lost = 0, doubled = 0;
  for (const auto& v : values) {
    EXPECT_EQ(held.count(v), 1u) << v;
    lost += held.count(v) == 0;
    doubled += held.count(v) > 1;
  }
  EXPECT_EQ(held.size(), values.size());
  std::cout << "[ metric ] hub-mode identity rotation: " << values.size()
            << " indicators of A at C; lost " << lost << ", doubled " << doubled << "\n";
  EXPECT_EQ(c_.Lookup(values[0]).value("confidence", 0), 41);
  for (const auto& v : values) {
    EXPECT_EQ(c_.Lookup(v)["origin_name"], a_.name()) << v;
    EXPECT_EQ(c_.Lookup(v)["verified"], true) << v << ": " << c_.Lookup(v).dump();
  }
  size_t accepted = 0, rejected = 0;
  for (const auto& e : c_.Audit()) {
    accepted += e["action"] == "identity-key-accept";
    rejected += e["action"] == "reject";
  }
  EXPECT_EQ(accepted, 1u) << Logs();
  EXPECT_EQ(rejected, 0u) << "C refused a record of the rotation\n" << Logs();
}

// Hub delay (docs/federation.md "Delay"): the hub holds A's envelopes for
// C (C cannot tell why: here C is down, so the hub keeps them queued)
// longer than C's [hub] delay_alert. C measures each from the sealing time
// A stated inside it: /metrics histogram, one rate-limited hub_delay audit
// entry, and the worst recent delay in `peers list` and `status`. A
// delivery under the threshold is measured but not audited.
TEST_F(HubTest, DelayHeldAtTheHubIsMeasuredAuditedAndShown) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  const uint16_t metrics_port = FreeLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  ASSERT_TRUE(EditConfig(c_.node().config(), "[hub]", "delay_alert = \"5m\"",
                         "delay_alert = \"3s\""));
  ASSERT_TRUE(EditConfig(c_.node().config(), "[metrics]", "listen = \"\"",
                         "listen = \"127.0.0.1:" +
                             std::to_string(metrics_port) + "\""));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(JoinThroughHub());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());
  auto delay_entries = [&] {
    std::vector<json> out;
    for (const auto& e : c_.Audit()) {
      if (e["action"] == "hub_delay") out.push_back(e);
    }
    return out;
  };
  const std::string count_label =
      "caravan_hub_delay_seconds_count{hub=\"HUB\",sender=\"CERT-A\"}";

  // Prompt: measured, under the threshold, not audited.
  const std::string prompt = "prompt.hub-delay-5b17.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", prompt, "--tlp", "green"}).exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(prompt).is_null(); }))
      << Logs();
  ASSERT_TRUE(WaitFor([&] {
    return MetricSample(Scrape(metrics_port), count_label) >= 1;
  })) << Logs();
  EXPECT_TRUE(delay_entries().empty());
  json view = ListedPeer(c_, a_.name());
  ASSERT_TRUE(view["hub_delay"].is_object()) << view.dump();
  EXPECT_LT(view["hub_delay"]["worst_recent_seconds"].get<double>(), 3.0);
  EXPECT_EQ(view["hub_delay"]["over_alert"], 0);

  // Held: three envelopes (one record each) wait at the hub while C is
  // down, at least 5 s from their sealing.
  ASSERT_EQ(c_.Stop(), 0);
  const std::vector<std::string> held = {"held-1.hub-delay-5b17.example",
                                         "held-2.hub-delay-5b17.example",
                                         "held-3.hub-delay-5b17.example"};
  for (size_t i = 0; i < held.size(); ++i) {
    ASSERT_EQ(a_.Cli({"submit", "domain", held[i], "--tlp", "green"})
                  .exit_code,
              0);
    ASSERT_TRUE(WaitFor([&] {
      json p = ListedPeer(a_, c_.name());
      return !p.is_null() && p["queued_at_hub"] == static_cast<int>(i + 1);
    })) << ListedPeer(a_, c_.name()).dump() << Logs();
  }
  const auto last_sealed = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(5));
  const auto held_for = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - last_sealed)
                            .count();
  std::string why;
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(c_.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return !delay_entries().empty(); })) << Logs();
  const auto audited = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : held) {
      if (c_.Lookup(v).is_null()) return false;
    }
    // C restarted: its histogram counts from 0 again (kept in memory).
    return MetricSample(Scrape(metrics_port), count_label) >= 3;
  })) << Logs();
  std::cout << "[hub delay] held " << held_for << " ms at the hub; hub_delay "
            << "audited "
            << std::chrono::duration_cast<std::chrono::milliseconds>(audited -
                                                                     back)
                   .count()
            << " ms after the recipient's restart\n";

  // One entry for the three (rate limit), naming the hub, the sender, and
  // a delay at least as long as the hold.
  auto entries = delay_entries();
  ASSERT_EQ(entries.size(), 1u);
  json e = entries[0];  // a copy: never a const operator[] on a missing key
  EXPECT_EQ(e["actor"], "peer:HUB");
  EXPECT_EQ(e["peer"], a_.name());
  ASSERT_TRUE(e["detail"].is_object()) << e.dump();
  EXPECT_EQ(e["detail"]["hub"], "HUB");
  EXPECT_EQ(e["detail"]["sender"], a_.name());
  EXPECT_EQ(e["detail"]["kind"], "batch");
  EXPECT_GE(e["detail"]["delay_ms"].get<int64_t>(), held_for);
  EXPECT_EQ(e["detail"]["delay_alert_ms"], 3000);
  EXPECT_LE(e["detail"]["sealed_at_ms"].get<int64_t>(),
            e["detail"]["opened_at_ms"].get<int64_t>());
  // /metrics: the held ones are in buckets above 3 s.
  auto m = Scrape(metrics_port);
  const double count = MetricSample(m, count_label);
  const double under_5s = MetricSample(
      m,
      "caravan_hub_delay_seconds_bucket{hub=\"HUB\",sender=\"CERT-A\",le="
      "\"1\"}");
  EXPECT_LE(under_5s, count - 3);
  EXPECT_GE(MetricSample(m, "caravan_hub_delay_seconds_sum{hub=\"HUB\","
                            "sender=\"CERT-A\"}"),
            3 * static_cast<double>(held_for) / 1000.0);
  // peers list and status: the worst recent delay, three over the alert.
  view = ListedPeer(c_, a_.name());
  ASSERT_TRUE(view["hub_delay"].is_object()) << view.dump();
  EXPECT_GE(view["hub_delay"]["worst_recent_seconds"].get<double>(),
            static_cast<double>(held_for) / 1000.0);
  EXPECT_EQ(view["hub_delay"]["over_alert"], 3);
  EXPECT_TRUE(view["hub_delay"]["worst_at"].is_string());
  CommandResult table = c_.Cli({"peers", "list"});
  EXPECT_NE(table.out.find("worst delay"), std::string::npos) << table.out;
  json status = c_.CliJson({"status"});
  ASSERT_TRUE(status["hub_delays"].is_array()) << status.dump();
  ASSERT_EQ(status["hub_delays"].size(), 1u) << status.dump();
  EXPECT_EQ(status["hub_delays"][0]["hub"], "HUB");
  EXPECT_EQ(status["hub_delays"][0]["sender"], a_.name());
  EXPECT_GE(status["hub_delays"][0]["worst_recent_seconds"].get<double>(),
            static_cast<double>(held_for) / 1000.0);
  CommandResult status_text = c_.Cli({"status"});
  EXPECT_NE(status_text.out.find("hub delay:   HUB: worst"), std::string::npos)
      << status_text.out;
  // A measures C's receipts through the hub the same way (not held).
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a_, c_.name());
    return p["hub_delay"].is_object();
  })) << ListedPeer(a_, c_.name()).dump();
  // Every held record arrived once.
  auto values = c_.Values();
  for (const auto& v : held) EXPECT_EQ(values.count(v), 1u) << v;
}

// Chain restart (docs/federation.md): A's outbox row of a batch C never
// got is gone, and so is the hub's copy. C asks A for it; A cannot
// produce it, so it sends a signed chain restart; C audits the pair seqs
// lost for good and moves on; A decides the unreceipted records again, and
// every record arrives exactly once, recorded as delivered only on C's
// receipt.
TEST_F(HubTest, LostOutboxRowIsRestartedAndEveryRecordArrivesOnce) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  ASSERT_NO_FATAL_FAILURE(EnableHub());
  for (FedNode* n : {&a_, &c_}) {
    ASSERT_TRUE(EditConfig(n->node().config(), "[hub]",
                           "resend_after = \"1m\"", "resend_after = \"2s\""));
  }
  ASSERT_NO_FATAL_FAILURE(StartAll());
  ASSERT_NO_FATAL_FAILURE(JoinThroughHub());
  ASSERT_NO_FATAL_FAILURE(AShareWithUz());
  const std::string warm = "warm.hub-restart-c3e9.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", warm, "--tlp", "green"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(warm).is_null(); })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << Logs();
  // Records shared with C: one "share" entry lists every record of one
  // receipt that one rule allowed (detail.count).
  auto shares = [&] {
    size_t n = 0;
    for (const auto& e : a_.Audit(10000, c_.name())) {
      if (e["action"] != "share") continue;
      const json detail = e.value("detail", json());
      n += detail.is_object() ? detail.value("count", size_t{1}) : 1;
    }
    return n;
  };
  const size_t shares_before = shares();

  // Three batches (one record each) wait at the hub while C is down.
  ASSERT_EQ(c_.Stop(), 0);
  const std::vector<std::string> values = {"one.hub-restart-c3e9.example",
                                           "two.hub-restart-c3e9.example",
                                           "three.hub-restart-c3e9.example"};
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(a_.Cli({"submit", "domain", values[i], "--tlp", "green"})
                  .exit_code,
              0);
    ASSERT_TRUE(WaitFor([&] {
      json p = ListedPeer(a_, c_.name());
      return !p.is_null() && p["queued_at_hub"] == static_cast<int>(i + 1);
    })) << ListedPeer(a_, c_.name()).dump() << Logs();
  }
  // A loses its row of the middle batch; the hub loses its copy.
  ASSERT_EQ(a_.Stop(), 0);
  ASSERT_EQ(h_.Stop(), 0);
  const int64_t lost =
      LoseOutboxRow(a_.node().database(), h_.node().database(), a_.name(), 1);
  ASSERT_GT(lost, 0);
  std::string why;
  ASSERT_TRUE(h_.Start(&why)) << why;
  ASSERT_TRUE(a_.Start(&why)) << why;
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(c_.Start(&why)) << why;
  auto entries = [](const FedNode& n, const std::string& action) {
    std::vector<json> out;
    for (const auto& e : n.Audit()) {
      if (e["action"] == action) out.push_back(e);
    }
    return out;
  };
  ASSERT_TRUE(WaitFor([&] {
    return !entries(c_, "sealed_chain_restart").empty();
  })) << Logs();
  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : values) {
      if (c_.Lookup(v).is_null()) return false;
    }
    return true;
  })) << Logs();
  const auto delivered = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << ListedPeer(a_, c_.name()).dump() << Logs();
  const auto receipted = std::chrono::steady_clock::now();
  auto ms = [&](auto t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - back)
        .count();
  };
  std::cout << "[chain restart] from the sender's restart without its row: "
            << "restart audited at C " << ms(restarted)
            << " ms, every record at C " << ms(delivered)
            << " ms, receipted at A " << ms(receipted) << " ms\n";

  // C audited the gap it can never fill, naming the pair seqs.
  auto restart = entries(c_, "sealed_chain_restart");
  ASSERT_EQ(restart.size(), 1u) << Logs();
  json d = restart[0]["detail"];
  ASSERT_TRUE(d.is_object()) << restart[0].dump();
  EXPECT_EQ(d["lost_from"], lost) << d.dump();
  EXPECT_GE(d["lost_to"].get<int64_t>(), lost) << d.dump();
  EXPECT_EQ(d["via"], "HUB");
  EXPECT_NE(d["reason"].get<std::string>().find("no longer holds"),
            std::string::npos);
  EXPECT_EQ(entries(a_, "sealed_chain_restart_sent").size(), 1u) << Logs();
  // Exactly once at C, and one share per record at A (on C's receipt).
  auto held = c_.Values();
  for (const auto& v : values) EXPECT_EQ(held.count(v), 1u) << v;
  EXPECT_EQ(held.size(), values.size() + 1);
  EXPECT_TRUE(WaitFor([&] { return shares() == shares_before + values.size(); }))
      << shares() << " shares, expected " << shares_before + values.size();
  EXPECT_TRUE(WaitFor([&] {
    return ListedPeer(a_, c_.name())["awaiting_receipt"] == 0;
  })) << ListedPeer(a_, c_.name()).dump();
  // C stopped asking: after the restart no further gap is audited.
  const size_t gaps = entries(c_, "hub_gap").size();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(entries(c_, "hub_gap").size(), gaps);
}

}  // namespace
}  // namespace caravan::integration
