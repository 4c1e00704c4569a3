// Identity key rotation of a member, seen from real daemons (issue 16;
// docs/federation.md, "Identity key rotation"). CERT-UZ, the member that
// rotates, is the test's own raw peer (tests/integration/raw_peer.h) holding
// its identity keys; CERT-CN and CERT-KZ are real caravand nodes with UZ in
// their rosters. KZ is stopped while UZ rotates K0 -> K1 over its link to
// CN, which takes the rotation at once; UZ's records before, across and
// after the rotation reach CN with no gap and no duplicate; a record the
// retired key signs after the rotation time is refused; KZ returns, learns
// the rotation relayed by CN (verified end to end by K0's signature) and
// holds exactly CN's UZ records, old and new.
//
// The rotating side played by the test's own keys, so every step (and a
// replay) is under the test's control; identity_rotate_test.cc has a real
// daemon rotate (`caravan key rotate`).

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/identity_rotation.h"
#include "crypto/key_text.h"
#include "crypto/signing.h"
#include "protocol/record_codec.h"
#include "tests/integration/federation_fixture.h"
#include "tests/integration/raw_peer.h"

namespace caravan::integration {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A green, federation-resharable ipv4 record of indicator `value` with
// `origin`, created at `created`, revision `revision`, signed by `signer`.
protocol::SignedRecord UzRecord(const crypto::IdentityKey& origin,
                                const crypto::IdentityKey& signer, uint64_t origin_seq,
                                uint32_t revision, const std::string& value, int64_t created) {
  protocol::RecordBody body;
  body.origin = origin.public_key();
  body.origin_seq = origin_seq;
  body.revision = revision;
  body.created = created;
  body.indicator.type = protocol::IndicatorType::kIpv4;
  body.indicator.value = value;
  body.indicator.tlp = protocol::Tlp::kGreen;
  body.indicator.confidence = 80;
  body.indicator.reshare = protocol::Reshare::kFederation;
  std::vector<uint8_t> bytes = protocol::EncodeRecordBody(body);
  auto sig = crypto::Sign(signer, crypto::SignDomain::kRecord, bytes);
  return protocol::SignedRecord{std::move(bytes), sig};
}

// UZ as a raw member under `key`: connected, handshaken, Hello sent.
std::unique_ptr<RawPeer> LinkUz(const crypto::IdentityKey& key, const FedNode& to) {
  auto peer = std::make_unique<RawPeer>(key);
  std::string why;
  EXPECT_TRUE(peer->Connect(to.port()));
  EXPECT_TRUE(peer->Handshake(&why)) << why;
  EXPECT_TRUE(peer->SendHello(0, false, "CERT-UZ", "UZ"));
  return peer;
}

// The `peers list --json` entry of CERT-UZ at `n` (null when absent).
json UzEntry(const FedNode& n) {
  const json doc = n.CliJson({"peers", "list"});
  if (!doc.is_object() || !doc.contains("peers") || !doc["peers"].is_array()) return json();
  for (const auto& p : doc["peers"]) {
    if (p.is_object() && p.value("name", "") == "CERT-UZ") return p;
  }
  return json();
}

// The revision `n` holds of `value`; 0 when it holds none.
int64_t Revision(const FedNode& n, const std::string& value) {
  const json found = n.Lookup(value);
  return found.is_object() ? found.value("revision", int64_t{0}) : 0;
}

bool HasAudit(const FedNode& n, const std::string& action, const std::string& needle) {
  for (const auto& e : n.Audit()) {
    if (e.value("action", "") == action && e.dump().find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// UzEntry(n)'s key, "" when absent.
std::string UzKey(const FedNode& n) {
  const json entry = UzEntry(n);
  return entry.is_object() ? entry.value("key", "") : "";
}

class IdentityRotationTest : public FederationFixture {};

TEST_F(IdentityRotationTest, OnlineAndOfflinePeersTakeTheRotationAndRefuseTheRetiredKey) {
  FedNode& cn = Make("CERT-CN", "CN");
  FedNode& kz = Make("CERT-KZ", "KZ");
  // CN relays UZ's records to KZ (docs/policy.md, step 7: relays).
  cn.ShareWithAll("amber", "reshare = \"federation\"\n");
  kz.ShareWithAll("amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(cn, kz));
  auto k0 = crypto::IdentityKey::Generate();
  auto k1 = crypto::IdentityKey::Generate();
  const std::string k0_text = crypto::KeyText(k0->public_key());
  const std::string k1_text = crypto::KeyText(k1->public_key());
  for (FedNode* n : {&cn, &kz}) {
    // No endpoint: UZ dials in, like a CERT behind a one-way firewall.
    CommandResult r = n->Cli({"peers", "add", "CERT-UZ", "--country", "UZ", "--key", k0_text});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  ASSERT_EQ(kz.Stop(), 0);

  // Before the rotation: three indicators under K0.
  const int64_t now = std::time(nullptr);
  std::vector<protocol::SignedRecord> before;
  for (int i = 0; i < 3; ++i) {
    before.push_back(UzRecord(*k0, *k0, i + 1, 1, "198.51.100." + std::to_string(i + 1),
                              now - 120 + i));
  }
  auto uz_old = LinkUz(*k0, cn);
  ASSERT_TRUE(uz_old->SendRecords(before, 1));
  ASSERT_TRUE(uz_old->WaitAck(3, std::chrono::seconds(60))) << cn.node().LogText();

  // The rotation, over the live link; CN holds K1 once `peers list` says so.
  const int64_t t = std::time(nullptr);
  const auto statement = crypto::EncodeRotationStatement(crypto::SignRotation(*k0, *k1, t, t));
  const auto sent_at = Clock::now();
  ASSERT_TRUE(uz_old->SendIdentityRotation(statement));
  ASSERT_TRUE(WaitFor([&] { return UzKey(cn) == k1_text; },
                      std::chrono::seconds(60)))
      << cn.node().LogText();
  const double accept_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
  RecordProperty("rotation_accept_ms", std::to_string(accept_ms));
  std::cout << "[ metric ] identity rotation: CN holds the new key " << accept_ms
            << " ms after the statement was sent (polling every 100 ms)\n";
  const json entry = UzEntry(cn);
  ASSERT_TRUE(entry.is_object());
  EXPECT_TRUE(entry.contains("key_rotated_at") && entry.at("key_rotated_at").is_string())
      << entry.dump();
  EXPECT_EQ(entry.value("fingerprint", ""), crypto::Fingerprint(k1->public_key()));
  CommandResult table = cn.Cli({"peers", "list"});
  EXPECT_NE(table.out.find("key rotated"), std::string::npos) << table.out;
  EXPECT_TRUE(HasAudit(cn, "identity-key-accept", crypto::Fingerprint(k1->public_key())));
  // The link under K0 is gone (K0 no longer names a member).
  EXPECT_TRUE(uz_old->WaitClosed(std::chrono::seconds(30)));

  // A replay changes nothing and is not audited again.
  {
    auto uz = LinkUz(*k1, cn);
    ASSERT_TRUE(uz->SendIdentityRotation(statement));
    ASSERT_TRUE(uz->SendRecords({UzRecord(*k1, *k1, 4, 1, "198.51.100.200", t + 1)}, 4));
    ASSERT_TRUE(uz->WaitAck(4, std::chrono::seconds(60)));
  }
  size_t accepts = 0;
  for (const auto& e : cn.Audit()) accepts += e.value("action", "") == "identity-key-accept";
  EXPECT_EQ(accepts, 1u);

  // After the rotation, linked under K1: a revision of an indicator made
  // under K0 (its id stays, origin K0, signed by K1); a new indicator under
  // K1; and a record the retired key signed after the rotation time.
  auto uz_new = LinkUz(*k1, cn);
  const std::vector<protocol::SignedRecord> after = {
      UzRecord(*k0, *k1, 5, 2, "198.51.100.1", t + 1),
      UzRecord(*k1, *k1, 6, 1, "198.51.100.201", t + 1),
      UzRecord(*k0, *k0, 7, 1, "198.51.100.66", t + 2)};
  ASSERT_TRUE(uz_new->SendRecords(after, 5));
  ASSERT_TRUE(uz_new->WaitAck(7, std::chrono::seconds(60))) << cn.node().LogText();
  EXPECT_EQ(Revision(cn, "198.51.100.1"), 2) << cn.Lookup("198.51.100.1");
  EXPECT_FALSE(cn.Lookup("198.51.100.201").is_null());
  EXPECT_TRUE(cn.Lookup("198.51.100.66").is_null());
  EXPECT_TRUE(HasAudit(cn, "reject", "retired identity key"));
  // A handshake under the retired key is refused.
  {
    RawPeer retired(*k0);
    std::string why;
    ASSERT_TRUE(retired.Connect(cn.port()));
    retired.Handshake(&why);
    EXPECT_TRUE(retired.WaitClosed(std::chrono::seconds(30)));
  }

  // KZ returns: it learns the rotation from CN and holds UZ's records,
  // old and new, each once.
  std::string why;
  ASSERT_TRUE(kz.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return UzKey(kz) == k1_text; }))
      << kz.node().LogText();
  EXPECT_TRUE(HasAudit(kz, "identity-key-accept", "CERT-CN"));
  const std::vector<std::string> uz_values = {"198.51.100.1", "198.51.100.2", "198.51.100.3",
                                              "198.51.100.200", "198.51.100.201"};
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& v : uz_values) {
      if (kz.Lookup(v).is_null()) return false;
    }
    return Revision(kz, "198.51.100.1") == 2;
  })) << kz.node().LogText();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(cn, kz));
  EXPECT_TRUE(kz.Lookup("198.51.100.66").is_null());
  const auto cn_values = cn.Values();
  const auto kz_values = kz.Values();
  size_t lost = 0, doubled = 0;
  for (const auto& v : uz_values) {
    EXPECT_EQ(cn_values.count(v), 1u) << v;
    EXPECT_EQ(kz_values.count(v), 1u) << v;
    lost += kz_values.count(v) == 0;
    doubled += kz_values.count(v) > 1;
  }
  std::cout << "[ metric ] identity rotation: UZ records at CN " << uz_values.size()
            << ", at KZ lost " << lost << ", doubled " << doubled << "\n";
  // Nothing KZ refused on the way (no record rejected for a key it had
  // not learnt yet).
  EXPECT_FALSE(HasAudit(kz, "reject", ""));

  // Baseline in the same run: a link key rotation at CN until KZ's link
  // to it is up again.
  const auto link_rotated_at = Clock::now();
  CommandResult rotated = cn.Cli({"key", "rotate", "--link"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  ASSERT_TRUE(WaitFor([&] {
    const json state = kz.PeerState("CERT-CN");
    return HasAudit(kz, "link-key-accept", "CERT-CN") && state.is_object() &&
           state.value("link", "") == "up";
  })) << kz.node().LogText();
  const double link_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - link_rotated_at).count();
  std::cout << "[ metric ] baseline: link key rotation at CN until KZ relinked " << link_ms
            << " ms\n";
}

}  // namespace
}  // namespace caravan::integration
