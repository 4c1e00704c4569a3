// The rotation chain in the handshake between real LinkManagers on
// 127.0.0.1 (docs/wire.md, "Rotation chain"): CERT-A rotated its identity
// key K0 -> K1 and presents K1 with the chain; CERT-B still pins K0. With a
// chain lookup B links with A as the member its roster names (both when B
// dials and when A dials B); without one, K1 is an unknown identity.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "crypto/handshake_chain.h"
#include "crypto/identity_rotation.h"
#include "daemon/link/link_manager.h"
#include "tests/unit/link/link_test_util.h"

namespace caravan::daemon::link {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr int64_t kT = 1'764'900'000;

struct Rotated {
  TestNode a = MakeNode("CERT-A");
  std::unique_ptr<crypto::IdentityKey> k1 = crypto::IdentityKey::Generate();
  crypto::RotationStatement statement = crypto::SignRotation(*a.identity, *k1, kT, kT);
  // The lookup a node gives its manager, reduced to the test's question:
  // does the chain start at the key B pins for A (K0)?
  ChainLookup Lookup(std::shared_ptr<int> asked, std::optional<uint16_t> port) const {
    const PeerIdentity pinned = IdentityOf(a, port);
    return [pinned, asked](const protocol::PublicKey&,
                           const std::vector<crypto::RotationStatement>& chain)
               -> std::optional<PeerIdentity> {
      ++*asked;
      if (chain.empty() || chain.front().old_key != pinned.key) return std::nullopt;
      return pinned;
    };
  }
};

TEST(IdentityChainLink, PeerPinningTheOldKeyLinksThroughTheChainBothWays) {
  boost::asio::io_context io;
  Rotated r;
  TestNode b = MakeNode("CERT-B", "KZ");
  auto events = std::make_shared<EventLog>();
  // A, under K1, listens and presents its chain.
  LinkManager a_mgr(io, *r.k1, *r.a.link_key, FastOptions(),
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(events));
  a_mgr.SetIdentityChain({crypto::EncodeHandshakeChain({r.statement}), nullptr});
  ASSERT_TRUE(a_mgr.Start({IdentityOf(b)}).ok());
  // B pins K0 and dials A: A answers (message 2) with K1 and the chain.
  LinkOptions dial_only = FastOptions();
  dial_only.listen.reset();
  auto asked = std::make_shared<int>(0);
  LinkManager b_mgr(io, *b.identity, *b.link_key, dial_only,
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(events));
  b_mgr.SetIdentityChain({{}, r.Lookup(asked, a_mgr.listen_port())});
  ASSERT_TRUE(b_mgr.Start({IdentityOf(r.a, a_mgr.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return b_mgr.LinkTo("CERT-A") && a_mgr.LinkTo("CERT-B"); }));
  EXPECT_GE(*asked, 1);
  // The link is the member as B's roster has it (K0) until B takes the
  // statements sent on it.
  EXPECT_EQ(b_mgr.LinkTo("CERT-A")->peer().key, r.a.identity->public_key());
  b_mgr.Stop();
  a_mgr.Stop();
}

TEST(IdentityChainLink, ListenerFollowsTheDialersChainAndRefusesWithoutALookup) {
  boost::asio::io_context io;
  Rotated r;
  TestNode b = MakeNode("CERT-B", "KZ");
  auto b_events = std::make_shared<EventLog>();
  auto asked = std::make_shared<int>(0);
  // B listens, pinning K0, with a chain lookup.
  LinkManager b_mgr(io, *b.identity, *b.link_key, FastOptions(),
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(b_events));
  b_mgr.SetIdentityChain({{}, r.Lookup(asked, std::nullopt)});
  ASSERT_TRUE(b_mgr.Start({IdentityOf(r.a)}).ok());
  LinkOptions dial_only = FastOptions();
  dial_only.listen.reset();
  LinkManager a_mgr(io, *r.k1, *r.a.link_key, dial_only,
                    RecordingRunner(std::make_shared<SessionLog>()),
                    Recorder(std::make_shared<EventLog>()));
  a_mgr.SetIdentityChain({crypto::EncodeHandshakeChain({r.statement}), nullptr});
  ASSERT_TRUE(a_mgr.Start({IdentityOf(b, b_mgr.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return b_mgr.LinkTo("CERT-A") && a_mgr.LinkTo("CERT-B"); }));
  EXPECT_GE(*asked, 1);
  a_mgr.Stop();
  b_mgr.Stop();

  // The same listener with no lookup: K1 is an unknown identity.
  boost::asio::io_context io2;
  auto events = std::make_shared<EventLog>();
  LinkManager plain(io2, *b.identity, *b.link_key, FastOptions(),
                    RecordingRunner(std::make_shared<SessionLog>()), Recorder(events));
  ASSERT_TRUE(plain.Start({IdentityOf(r.a)}).ok());
  LinkManager dialer(io2, *r.k1, *r.a.link_key, dial_only,
                     RecordingRunner(std::make_shared<SessionLog>()),
                     Recorder(std::make_shared<EventLog>()));
  dialer.SetIdentityChain({crypto::EncodeHandshakeChain({r.statement}), nullptr});
  ASSERT_TRUE(dialer.Start({IdentityOf(b, plain.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io2, [&] { return plain.PreauthFailures()["unknown_identity"] >= 1; }));
  EXPECT_EQ(plain.LinkTo("CERT-A"), nullptr);
  dialer.Stop();
  plain.Stop();
}

}  // namespace
}  // namespace caravan::daemon::link
