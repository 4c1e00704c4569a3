// Identity key rotation by a real daemon (issue 16; docs/federation.md,
// "Identity key rotation", the rotating side). Three caravand nodes: CERT-UZ
// rotates its link key and then its identity key (`caravan key rotate`)
// while CERT-KZ is stopped and CERT-CN online. CN takes the rotation over
// the live link and keeps syncing: UZ's records before, across and after
// the rotation (and a revision of an indicator made under the old key) are
// each at CN exactly once. KZ returns knowing only the old key and learns
// the new one (UZ presents its chain in the handshake; CN relays the
// statement), then holds exactly CN's UZ records. A record the retired key
// signs after the rotation time is refused (injected by a raw peer holding
// the retired key file); a handshake under the retired key is refused.
// Finally UZ declares its retired key compromised since a time between its
// first and second batch (`caravan key compromised --since`): exactly the
// indicators K0 signed in [TIME, rotation) are quarantined at UZ and at
// every peer the notice (issued by K1) reached.

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/key_file.h"
#include "crypto/key_text.h"
#include "crypto/signing.h"
#include "protocol/record_codec.h"
#include "protocol/time_text.h"
#include "tests/integration/federation_fixture.h"
#include "tests/integration/raw_peer.h"

namespace caravan::integration {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The key `n` pins for `peer` in `peers list --json` ("" when absent).
std::string PeerKey(const FedNode& n, const std::string& peer) {
  const json doc = n.CliJson({"peers", "list"});
  if (!doc.is_object() || !doc.contains("peers") || !doc["peers"].is_array()) return "";
  for (const auto& p : doc["peers"]) {
    if (p.is_object() && p.value("name", "") == peer) return p.value("key", "");
  }
  return "";
}

// `caravan key show --json` key at `n` ("" while its control socket is
// away, e.g. during the reload).
std::string OwnKey(const FedNode& n) {
  const CommandResult r = n.Cli({"key", "show", "--json"});
  if (r.exit_code != 0) return "";
  const json doc = json::parse(r.out, nullptr, false);
  return doc.is_object() ? doc.value("key", "") : "";
}

int64_t Revision(const FedNode& n, const std::string& value) {
  const json found = n.Lookup(value);
  return found.is_object() ? found.value("revision", int64_t{0}) : 0;
}

size_t AuditCount(const FedNode& n, const std::string& action, const std::string& needle = "") {
  size_t count = 0;
  for (const auto& e : n.Audit()) {
    count += e.value("action", "") == action && e.dump().find(needle) != std::string::npos;
  }
  return count;
}

// `caravan submit ipv4 VALUE` at `n`, retried while the daemon reloads.
bool SubmitWhenUp(FedNode& n, const std::string& value) {
  return WaitFor([&] {
    return n.Cli({"submit", "ipv4", value, "--reshare", "federation"}).exit_code == 0;
  });
}

// What `quarantine list` shows at `n`: each value with its `compromise`
// mark (null when it has none).
std::map<std::string, json> Quarantined(const FedNode& n) {
  std::map<std::string, json> out;
  const CommandResult r = n.Cli({"quarantine", "list", "--json"});
  const json q = json::parse(r.out, nullptr, false);
  if (!q.is_object() || !q.contains("indicators")) return out;
  for (const auto& i : q["indicators"]) {
    out[i.value("value", "")] = i.value("compromise", json());
  }
  return out;
}

std::set<std::string> QuarantinedValues(const FedNode& n) {
  std::set<std::string> out;
  for (const auto& [value, mark] : Quarantined(n)) out.insert(value);
  return out;
}

class IdentityRotateTest : public FederationFixture {};

TEST_F(IdentityRotateTest, RealDaemonRotatesWithOnePeerOnlineAndOneOffline) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& cn = Make("CERT-CN", "CN");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWithAll("amber");
  // CN relays UZ's records to KZ (docs/policy.md, step 7: relays).
  cn.ShareWithAll("amber", "reshare = \"federation\"\n");
  kz.ShareWithAll("amber");
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(cn, "quarantine"));
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(kz, "quarantine"));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, cn);
  Connect(uz, kz);
  Connect(cn, kz);
  const std::string k0 = uz.key();

  // Before: three indicators under K0, at both peers.
  std::vector<std::string> values;
  for (int i = 1; i <= 3; ++i) values.push_back("198.51.100." + std::to_string(i));
  for (const auto& v : values) Submit(uz, {"ipv4", v, "--reshare", "federation"});
  ASSERT_TRUE(WaitFor([&] { return !kz.Lookup(values.back()).is_null(); }))
      << kz.node().LogText();
  ASSERT_EQ(kz.Stop(), 0);

  // The link key first (KZ is away): CN relinks with no roster change.
  CommandResult link = uz.Cli({"key", "rotate", "--link"});
  ASSERT_EQ(link.exit_code, 0) << link.Describe();

  // Across: three more just before the identity rotation, created in a
  // later second than the first three (the compromise time below).
  const int64_t compromised_since = std::time(nullptr) + 1;
  while (std::time(nullptr) < compromised_since) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int i = 4; i <= 6; ++i) {
    values.push_back("198.51.100." + std::to_string(i));
    Submit(uz, {"ipv4", values.back(), "--reshare", "federation"});
  }
  // The rotation in a later second still (TIME < rotation time).
  while (std::time(nullptr) <= compromised_since) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int64_t before_rotation = std::time(nullptr);
  const auto rotate_started = Clock::now();
  CommandResult rotated = uz.Cli({"key", "rotate", "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  const auto returned = Clock::now();
  const json out = json::parse(rotated.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << rotated.out;
  const std::string k1 = out.value("new_key", "");
  ASSERT_EQ(out.value("old_key", ""), k0);
  ASSERT_NE(k1, k0);
  const std::filesystem::path retired_file = out.value("retired_key_file", "");
  ASSERT_TRUE(std::filesystem::exists(retired_file)) << retired_file;
  EXPECT_EQ(std::filesystem::status(retired_file).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);

  // CN holds K1 once `peers list` says so.
  ASSERT_TRUE(WaitFor([&] { return PeerKey(cn, "CERT-UZ") == k1; })) << cn.node().LogText();
  const double online_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - returned).count();
  std::cout << "[ metric ] identity rotation: CN shows the new key " << online_ms
            << " ms after `caravan key rotate` returned ("
            << std::chrono::duration<double, std::milli>(returned - rotate_started).count()
            << " ms in the command)\n";
  RecordProperty("identity_rotation_online_ms", std::to_string(online_ms));
  ASSERT_TRUE(WaitFor([&] { return OwnKey(uz) == k1; })) << uz.node().LogText();

  // After: three new indicators (origin K1) and a revision of one made
  // under K0 (id and origin stay, signed by K1).
  for (int i = 7; i <= 9; ++i) {
    values.push_back("198.51.100." + std::to_string(i));
    ASSERT_TRUE(SubmitWhenUp(uz, values.back())) << uz.node().LogText();
  }
  CommandResult revised =
      uz.Cli({"submit", "ipv4", values[0], "--reshare", "federation", "--confidence", "41"});
  ASSERT_EQ(revised.exit_code, 0) << revised.Describe();
  EXPECT_EQ(Revision(uz, values[0]), 2);
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : values) {
      if (cn.Lookup(v).is_null()) return false;
    }
    return Revision(cn, values[0]) == 2;
  })) << cn.node().LogText();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, cn));
  const auto cn_values = cn.Values();
  for (const auto& v : values) EXPECT_EQ(cn_values.count(v), 1u) << v;
  EXPECT_EQ(AuditCount(cn, "identity-key-accept", crypto::Fingerprint(
                                                      *crypto::ParseKeyText(k1))),
            1u);
  EXPECT_EQ(AuditCount(uz, "identity-key-rotate"), 1u);
  EXPECT_EQ(AuditCount(cn, "reject"), 0u) << "CN refused a record of the rotation";

  // KZ returns knowing only K0: it takes K1 and every record exactly once.
  std::string why;
  const auto kz_started = Clock::now();
  ASSERT_TRUE(kz.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return PeerKey(kz, "CERT-UZ") == k1; })) << kz.node().LogText();
  std::cout << "[ metric ] identity rotation: KZ (offline during it) shows the new key "
            << MsSince(kz_started) << " ms after its start\n";
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : values) {
      if (kz.Lookup(v).is_null()) return false;
    }
    return Revision(kz, values[0]) == 2;
  })) << kz.node().LogText();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(cn, kz));
  const auto kz_values = kz.Values();
  size_t lost = 0, doubled = 0;
  for (const auto& v : values) {
    EXPECT_EQ(kz_values.count(v), 1u) << v;
    lost += kz_values.count(v) == 0;
    doubled += kz_values.count(v) > 1;
  }
  std::cout << "[ metric ] identity rotation: " << values.size() << " UZ indicators; at CN and KZ"
            << " lost " << lost << ", doubled " << doubled << "\n";
  EXPECT_EQ(AuditCount(kz, "reject"), 0u) << "KZ refused a record of the rotation";
  EXPECT_EQ(AuditCount(kz, "identity-key-accept"), 1u);

  // The retired key signing after the rotation: refused as retired. A raw
  // UZ under K1 (UZ's daemon stopped) sends a record K0 signed now.
  std::string error;
  auto retired = crypto::LoadIdentityKey(retired_file, &error);
  ASSERT_TRUE(retired) << error;
  const std::filesystem::path identity_file =
      retired_file.parent_path() / retired_file.filename().string().substr(
                                       0, retired_file.filename().string().find(".retired-"));
  auto current = crypto::LoadIdentityKey(identity_file, &error);
  ASSERT_TRUE(current) << error;
  EXPECT_EQ(crypto::KeyText(current->public_key()), k1);
  const int64_t uz_log = uz.LogSeq();
  ASSERT_EQ(uz.Stop(), 0);
  {
    protocol::RecordBody body;
    body.origin = retired->public_key();
    body.origin_seq = 1000;
    body.revision = 1;
    body.created = std::max<int64_t>(std::time(nullptr), before_rotation + 1);
    body.indicator.type = protocol::IndicatorType::kIpv4;
    body.indicator.value = "198.51.100.66";
    body.indicator.tlp = protocol::Tlp::kGreen;
    body.indicator.confidence = 80;
    body.indicator.reshare = protocol::Reshare::kFederation;
    std::vector<uint8_t> bytes = protocol::EncodeRecordBody(body);
    const auto sig = crypto::Sign(*retired, crypto::SignDomain::kRecord, bytes);
    RawPeer raw(*current);
    // The serial UZ's daemon shows (its link key was rotated): not below
    // it (refused as retired), not above (UZ's own would be then).
    auto link_file = crypto::LoadLinkKeyFile(identity_file.parent_path() / "link.key", &error);
    ASSERT_TRUE(link_file) << error;
    raw.UseLinkSerial(link_file->serial);
    ASSERT_TRUE(raw.Connect(cn.port()));
    ASSERT_TRUE(raw.Handshake(&why)) << why;
    ASSERT_TRUE(raw.SendHello(0, false, "CERT-UZ", "UZ"));
    const uint64_t seq = static_cast<uint64_t>(uz_log) + 1;
    ASSERT_TRUE(raw.SendRecords({protocol::SignedRecord{std::move(bytes), sig}}, seq));
    ASSERT_TRUE(raw.WaitAck(seq, std::chrono::seconds(60))) << cn.node().LogText();
  }
  EXPECT_TRUE(cn.Lookup("198.51.100.66").is_null());
  EXPECT_EQ(AuditCount(cn, "reject", "retired identity key"), 1u);
  {
    // A handshake under the retired key is refused.
    RawPeer old_key(*retired);
    ASSERT_TRUE(old_key.Connect(cn.port()));
    old_key.Handshake(&why);
    EXPECT_TRUE(old_key.WaitClosed(std::chrono::seconds(30)));
  }
  ASSERT_TRUE(uz.Start(&why)) << why;
  EXPECT_EQ(OwnKey(uz), k1);  // the rotation survives a restart
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, cn));

  // The retired key was stolen before the rotation: `key compromised`.
  for (const FedNode* n : {&uz, &cn, &kz}) EXPECT_TRUE(QuarantinedValues(*n).empty());
  CommandResult declared =
      uz.Cli({"key", "compromised", "--since", protocol::FormatTime(compromised_since), "--json"});
  ASSERT_EQ(declared.exit_code, 0) << declared.Describe();
  const json d = json::parse(declared.out, nullptr, false);
  ASSERT_TRUE(d.is_object()) << declared.out;
  EXPECT_EQ(d.value("key", ""), k0);
  // Values 4..6: K0 signed them at or after TIME and before the rotation.
  // Value 1 was revised under K1 after it (not K0's), 2 and 3 are older.
  const std::set<std::string> expected = {values[3], values[4], values[5]};
  EXPECT_EQ(QuarantinedValues(uz), expected);
  EXPECT_EQ(AuditCount(uz, "identity-key-compromised"), 1u);
  std::set<std::string> notified;
  for (const auto& p : d.value("notified", json::array())) notified.insert(p.get<std::string>());
  EXPECT_EQ(notified.count("CERT-CN"), 1u) << declared.out;
  for (FedNode* n : {&cn, &kz}) {
    if (notified.count(n->name()) == 0) continue;
    ASSERT_TRUE(WaitFor([&] { return QuarantinedValues(*n) == expected; }))
        << n->name() << ": " << json(QuarantinedValues(*n)).dump() << "\n"
        << n->node().LogText();
  }
  // The `compromise` mark follows the chain like the outbound rule: value
  // 1's current revision was made after the rotation (signed by K1), so the
  // retired key's compromise does not mark it; value 4's does.
  for (FedNode* n : {&uz, &cn}) {
    ASSERT_TRUE(WaitFor([&] { return n->Lookup(values[0]).value("confidence", 0) == 41; }))
        << n->name() << ": " << n->Lookup(values[0]).dump();
    EXPECT_TRUE(n->Lookup(values[0])["compromise"].is_null())
        << n->name() << ": " << n->Lookup(values[0]).dump();
    EXPECT_TRUE(Quarantined(*n)[values[3]].is_object()) << n->name();
  }
  std::cout << "[ metric ] key compromised: quarantined " << expected.size()
            << " indicators at UZ and at " << notified.size() << " notified peers\n";
}

// `caravan key compromised --key` at a member that rotated twice (K0 -> K1
// -> K2), through the real CLI and control socket: the current key,
// another member's key, a key nobody has and text of neither form are
// refused with their exit codes; K0 by its key text is taken, its record
// quarantined at UZ and, by the notice K2 issued, at KZ; K1's record stays.
TEST_F(IdentityRotateTest, KeyCompromisedNamesAnOlderRetiredKeyAndRefusesOthers) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWithAll("amber");
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(kz, "quarantine"));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  const std::string k0 = uz.key();
  Submit(uz, {"ipv4", "192.0.2.10", "--reshare", "federation"});
  ASSERT_TRUE(WaitFor([&] { return !kz.Lookup("192.0.2.10").is_null(); }))
      << kz.node().LogText();
  const std::string since = kz.Lookup("192.0.2.10")["created"].get<std::string>();

  auto rotate = [&](std::string* key) {
    CommandResult r = uz.Cli({"key", "rotate", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    *key = json::parse(r.out, nullptr, false).value("new_key", "");
    ASSERT_TRUE(WaitFor([&] { return OwnKey(uz) == *key; })) << uz.node().LogText();
    ASSERT_TRUE(WaitFor([&] { return PeerKey(kz, "CERT-UZ") == *key; })) << kz.node().LogText();
  };
  std::string k1, k2;
  ASSERT_NO_FATAL_FAILURE(rotate(&k1));
  ASSERT_TRUE(SubmitWhenUp(uz, "192.0.2.11"));  // origin K1
  ASSERT_TRUE(WaitFor([&] { return !kz.Lookup("192.0.2.11").is_null(); }));
  ASSERT_NO_FATAL_FAILURE(rotate(&k2));

  auto fingerprint = [](const std::string& key_text) {
    return crypto::Fingerprint(*crypto::ParseKeyText(key_text));
  };
  struct Refusal {
    std::string key;
    int exit_code;
    std::string says;
  };
  for (const Refusal& r : std::vector<Refusal>{
           {fingerprint(k2), 4, "current identity key"},
           {fingerprint(kz.key()), 4, "CERT-KZ's key, not this node's"},
           {"0000:0000:0000:0000:0000", 3, "no key known here"},
           {"not-a-key", 4, "neither a fingerprint"}}) {
    CommandResult c = uz.Cli({"key", "compromised", "--since", since, "--key", r.key});
    EXPECT_EQ(c.exit_code, r.exit_code) << r.key << ": " << c.Describe();
    EXPECT_NE(c.err.find(r.says), std::string::npos) << c.err;
  }
  EXPECT_EQ(AuditCount(uz, "identity-key-compromised"), 0u);

  CommandResult declared =
      uz.Cli({"key", "compromised", "--since", since, "--key", k0, "--json"});
  ASSERT_EQ(declared.exit_code, 0) << declared.Describe();
  const json d = json::parse(declared.out, nullptr, false);
  EXPECT_EQ(d.value("key", ""), k0) << declared.out;
  EXPECT_EQ(d.value("quarantined", 0), 1) << declared.out;
  const std::set<std::string> expected = {"192.0.2.10"};
  EXPECT_EQ(QuarantinedValues(uz), expected);
  ASSERT_TRUE(WaitFor([&] { return QuarantinedValues(kz) == expected; }))
      << kz.node().LogText();
  EXPECT_FALSE(kz.Lookup("192.0.2.11").is_null());
  EXPECT_EQ(AuditCount(kz, "compromise-notice", "\"result\":\"quarantine\""), 1u);
}

}  // namespace
}  // namespace caravan::integration
