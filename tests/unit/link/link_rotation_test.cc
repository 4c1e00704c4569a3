// Link key rotation between real LinkManagers on 127.0.0.1: a rotated key
// is accepted with no roster change (the identity key certifies it), live
// links come back under it, and once a member's higher serial has been
// seen its retired link key is refused (reason retired_link_key).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "daemon/link/link_manager.h"
#include "tests/unit/link/link_test_util.h"

namespace caravan::daemon::link {
namespace {

using namespace testing;  // NOLINT: test helpers

LinkCredential Credential(std::unique_ptr<crypto::LinkKey> key, uint64_t serial) {
  return LinkCredential{std::shared_ptr<const crypto::LinkKey>(std::move(key)), serial,
                        1764900000 + static_cast<int64_t>(serial)};
}

struct Raised {
  std::string name;
  uint64_t serial = 0;
};

TEST(LinkRotation, RotatedKeyRelinksAndTheRetiredKeyIsRefused) {
  boost::asio::io_context io;
  TestNode a = MakeNode("CERT-A"), b = MakeNode("CERT-B", "KZ");
  auto a_events = std::make_shared<EventLog>(), b_events = std::make_shared<EventLog>();
  auto raised = std::make_shared<std::vector<Raised>>();
  // A listens; B dials A.
  LinkManager a_mgr(io, *a.identity, *a.link_key, FastOptions(),
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(a_events));
  a_mgr.SetLinkSerials({}, [raised](const std::string& name, const protocol::PublicKey&,
                                    uint64_t serial, int64_t) {
    raised->push_back({name, serial});
  });
  ASSERT_TRUE(a_mgr.Start({IdentityOf(b)}).ok());
  LinkOptions dial_only = FastOptions();
  dial_only.listen.reset();
  LinkManager b_mgr(io, *b.identity, *b.link_key, dial_only,
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(b_events));
  ASSERT_TRUE(b_mgr.Start({IdentityOf(a, a_mgr.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return a_mgr.LinkTo("CERT-B") && b_mgr.LinkTo("CERT-A"); }));
  EXPECT_TRUE(raised->empty());  // serial 0 seen: nothing raised

  // B rotates: the link drops and comes back under the new key, and A
  // (whose roster is untouched) records the new serial.
  std::shared_ptr<Link> before = a_mgr.LinkTo("CERT-B");
  ASSERT_TRUE(b_mgr.RotateLinkKey(Credential(crypto::LinkKey::Generate(), 7)).ok());
  EXPECT_EQ(b_mgr.link_credential().serial, 7u);
  ASSERT_TRUE(RunUntil(io, [&] {
    auto now = a_mgr.LinkTo("CERT-B");
    return now && now != before && b_mgr.LinkTo("CERT-A");
  }));
  ASSERT_EQ(raised->size(), 1u);
  EXPECT_EQ((*raised)[0].name, "CERT-B");
  EXPECT_EQ((*raised)[0].serial, 7u);
  EXPECT_EQ(b_events->Count(LinkEvent::kUp), 2u);

  // Someone holding B's old link key (serial 0) and its certificate dials
  // A: refused, counted and emitted as a retired link key.
  const std::shared_ptr<Link> current = a_mgr.LinkTo("CERT-B");
  auto old_events = std::make_shared<EventLog>();
  LinkManager stale(io, *b.identity, *b.link_key, dial_only,
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(old_events));
  ASSERT_TRUE(stale.Start({IdentityOf(a, a_mgr.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return a_mgr.PreauthFailures()["retired_link_key"] >= 1; }));
  ASSERT_NE(a_events->Last(LinkEvent::kHandshakeFailed), nullptr);
  const std::string detail = a_events->Last(LinkEvent::kHandshakeFailed)->detail;
  EXPECT_NE(detail.find("retired link key"), std::string::npos) << detail;
  EXPECT_NE(detail.find("serial 0"), std::string::npos) << detail;
  EXPECT_NE(detail.find("serial 7"), std::string::npos) << detail;
  // A made no link with it: its link to B is still the one under B's new
  // key. (The stale side, as initiator, sent message 3 before A refused.)
  EXPECT_EQ(a_mgr.LinkTo("CERT-B"), current);
  EXPECT_EQ(a_events->Last(LinkEvent::kHandshakeFailed)->peer_name, "CERT-B");
  stale.Stop();
  a_mgr.Stop();
  b_mgr.Stop();
}

TEST(LinkRotation, SeededSerialsRefuseOlderKeysAndRotationMustGoUp) {
  boost::asio::io_context io;
  TestNode a = MakeNode("CERT-A"), b = MakeNode("CERT-B", "KZ");
  auto a_events = std::make_shared<EventLog>();
  auto raised = std::make_shared<std::vector<Raised>>();
  LinkManager a_mgr(io, *a.identity, *a.link_key, FastOptions(),
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(a_events));
  // A has seen serial 3 of B before (e.g. stored at an earlier run).
  a_mgr.SetLinkSerials({{b.identity->public_key(), 3}},
                       [raised](const std::string& name, const protocol::PublicKey&,
                                uint64_t serial, int64_t) {
                         raised->push_back({name, serial});
                       });
  ASSERT_TRUE(a_mgr.Start({IdentityOf(b)}).ok());
  LinkOptions dial_only = FastOptions();
  dial_only.listen.reset();
  LinkManager b_mgr(io, *b.identity, Credential(crypto::LinkKey::Generate(), 2), dial_only,
                    RecordingRunner(std::make_shared<SessionLog>()),
                    Recorder(std::make_shared<EventLog>()));
  ASSERT_TRUE(b_mgr.Start({IdentityOf(a, a_mgr.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return a_mgr.PreauthFailures()["retired_link_key"] >= 1; }));
  EXPECT_EQ(a_mgr.LinkTo("CERT-B"), nullptr);
  EXPECT_TRUE(raised->empty());

  // Not upwards: refused, the key in use stays.
  EXPECT_EQ(b_mgr.RotateLinkKey(Credential(crypto::LinkKey::Generate(), 2)).code(),
            StatusCode::kInvalidInput);
  EXPECT_EQ(b_mgr.RotateLinkKey(Credential(nullptr, 9)).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(b_mgr.link_credential().serial, 2u);
  // Serial 4 is above what A has seen: the link comes up.
  ASSERT_TRUE(b_mgr.RotateLinkKey(Credential(crypto::LinkKey::Generate(), 4)).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return a_mgr.LinkTo("CERT-B") != nullptr; }));
  ASSERT_EQ(raised->size(), 1u);
  EXPECT_EQ((*raised)[0].serial, 4u);
  a_mgr.Stop();
  b_mgr.Stop();
}

TEST(LinkRotation, DialerRefusesARetiredResponderBeforeNamingItself) {
  // A dials B's endpoint, where a listener answers with B's retired key:
  // A refuses it on message 2, so the stale side never completes a
  // handshake (it sees the connection close).
  boost::asio::io_context io;
  TestNode a = MakeNode("CERT-A"), b = MakeNode("CERT-B", "KZ");
  auto a_events = std::make_shared<EventLog>(), b_events = std::make_shared<EventLog>();
  LinkOptions dial_only = FastOptions();
  dial_only.listen.reset();
  LinkManager a_mgr(io, *a.identity, *a.link_key, dial_only,
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(a_events));
  a_mgr.SetLinkSerials({{b.identity->public_key(), 5}}, nullptr);
  LinkManager stale(io, *b.identity, *b.link_key, FastOptions(),
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(b_events));
  ASSERT_TRUE(stale.Start({IdentityOf(a)}).ok());
  ASSERT_TRUE(a_mgr.Start({IdentityOf(b, stale.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return a_mgr.PreauthFailures()["retired_link_key"] >= 1; }));
  ASSERT_TRUE(RunUntil(io, [&] { return stale.PreauthFailures()["closed"] >= 1; }));
  EXPECT_EQ(stale.LinkTo("CERT-A"), nullptr);
  EXPECT_EQ(b_events->Count(LinkEvent::kUp), 0u);
  EXPECT_EQ(a_events->Count(LinkEvent::kUp), 0u);
  stale.Stop();
  a_mgr.Stop();
}

}  // namespace
}  // namespace caravan::daemon::link
