#include "daemon/sync/hub_relay.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/identity_x25519.h"
#include "daemon/policy/policy_loader.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;
using testing::SignedBy;
using testing::TempDir;

constexpr size_t kMax = 16 * 1024 * 1024;

// One node's view: its store, roster, policy and keys.
struct Node {
  Node(const Member& self, std::vector<protocol::RosterMember> roster,
       bool hub_enabled, uint32_t max_queued = 100)
      : self_(self), roster_(std::move(roster)) {
    auto s = store::Store::Open(dir_.File("node.db"));
    EXPECT_TRUE(s.ok()) << s.status().message();
    store = std::move(*s);
    auto p = policy::LoadPolicyText(
        {{"default.toml",
          "[outbound]\nshare = false\n[inbound]\naccept = true\n"}});
    EXPECT_TRUE(p.ok()) << p.status().message();
    policy = std::move(*p);
    hub.enabled = hub_enabled;
    hub.max_queued_per_sender = max_queued;
    x25519 = crypto::IdentityToX25519Key(*self.key);
  }

  SealedContext Context() {
    SealedContext ctx;
    ctx.inbound = InboundContext{store.get(), &roster_, &policy,
                                 self_.key->public_key(), &cache, 1'700'000'100};
    ctx.x25519 = x25519.get();
    ctx.hub = &hub;
    ctx.max_envelope_bytes = kMax;
    return ctx;
  }

  std::vector<store::AuditEntry> Audit(const std::string& action) {
    auto reader = store->OpenReader();
    EXPECT_TRUE(reader.ok());
    auto all = (*reader)->ReadAudit({});
    EXPECT_TRUE(all.ok());
    std::vector<store::AuditEntry> out;
    for (auto& e : all->entries) {
      if (e.event.action == action) out.push_back(e);
    }
    return out;
  }

  // hub_counters: envelopes counted for (event, reason); 0 when absent.
  uint64_t Counted(const std::string& event, const std::string& reason = "") {
    auto reader = store->OpenReader();
    auto counts = (*reader)->HubCounters();
    EXPECT_TRUE(counts.ok());
    for (const auto& c : *counts) {
      if (c.event == event && c.reason == reason) return c.envelopes;
    }
    return 0;
  }

  std::vector<store::HubEnvelope> Pending(const Member& recipient) {
    auto reader = store->OpenReader();
    auto p = (*reader)->HubPending(recipient.key->public_key(), 0, 100);
    EXPECT_TRUE(p.ok());
    return *p;
  }

  TempDir dir_;
  const Member& self_;
  RosterIndex roster_;
  policy::PolicySet policy;
  protocol::NodeConfig::Hub hub;
  std::unique_ptr<crypto::LinkKey> x25519;
  BatchRootCache cache;
  std::unique_ptr<store::Store> store;
};

PeerInfo Info(const Member& m) { return {m.name, m.country, m.key->public_key()}; }

struct Federation {
  Member a{"CERT-A", "KZ"};
  Member h{"HUB", "DE"};
  Member c{"CERT-C", "UZ"};
  Member b{"CERT-B", "TJ"};

  std::vector<uint8_t> Envelope(const Member& from, const Member& to,
                                uint64_t up_to, const std::string& value) {
    SealedHeaderInfo header;
    header.envelope_id = NewEnvelopeId();
    header.sender_name = from.name;
    header.sender_key = from.key->public_key();
    header.recipient_key = to.key->public_key();
    header.first_seq = up_to;
    header.up_to_seq = up_to;
    auto env = SealBatch(header, {{up_to, SignedBy(from, value, up_to)}},
                         *from.key, kMax);
    EXPECT_TRUE(env.ok()) << env.status().message();
    return *env;
  }
};

TEST(HubRelayTest, HubQueuesForwardsAndForgets) {
  Federation f;
  Node hub(f.h, {f.a.Roster(), f.c.Roster()}, /*hub_enabled=*/true);
  auto env = f.Envelope(f.a, f.c, 4, "queued.example");
  auto out = HandleSealed(hub.Context(), Info(f.a), env, 0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->kind, SealedOutcome::kQueued);
  EXPECT_FALSE(out->for_us);
  EXPECT_EQ(out->header.up_to_seq, 4u);
  auto pending = hub.Pending(f.c);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].envelope, env);
  EXPECT_EQ(pending[0].sender, f.a.name);
  ASSERT_EQ(hub.Audit("hub_store").size(), 1u);

  // The same envelope again (our ack was lost): acknowledged, not queued.
  auto again = HandleSealed(hub.Context(), Info(f.a), env, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, SealedOutcome::kQueued);
  EXPECT_EQ(again->hub_seq, out->hub_seq);
  EXPECT_EQ(hub.Pending(f.c).size(), 1u);
  EXPECT_EQ(hub.Counted("stored"), 1u);
  EXPECT_EQ(hub.Counted("forwarded"), 0u);

  auto removed = HubDelivered(hub.store.get(), Info(f.c), out->hub_seq);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_TRUE(hub.Pending(f.c).empty());
  EXPECT_EQ(hub.Counted("forwarded"), 1u);
  auto forwarded = hub.Audit("hub_forward");
  ASSERT_EQ(forwarded.size(), 1u);
  // Audit names envelopes, never contents.
  EXPECT_EQ(forwarded[0].event.detail.find("queued.example"),
            std::string::npos);
}

TEST(HubRelayTest, FullSenderQueueIsRefusedAndAudited) {
  Federation f;
  Node hub(f.h, {f.a.Roster(), f.c.Roster()}, true, /*max_queued=*/1);
  auto first = HandleSealed(hub.Context(), Info(f.a),
                            f.Envelope(f.a, f.c, 1, "one.example"), 0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->kind, SealedOutcome::kQueued);
  auto second = HandleSealed(hub.Context(), Info(f.a),
                             f.Envelope(f.a, f.c, 2, "two.example"), 0);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->kind, SealedOutcome::kRefused);
  EXPECT_NE(second->reason.find("is full"), std::string::npos);
  EXPECT_EQ(hub.Pending(f.c).size(), 1u);
  auto refusals = hub.Audit("hub_refuse");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].event.detail.find("max_queued_per_sender"),
            std::string::npos);
  EXPECT_EQ(hub.Counted("refused", "queue_full"), 1u);
  EXPECT_EQ(hub.Counted("stored"), 1u);
}

TEST(HubRelayTest, HubRefusesWhatItMustNotRelay) {
  Federation f;
  Node hub(f.h, {f.a.Roster(), f.b.Roster(), f.c.Roster()}, true);
  // B hands over an envelope that says it is from A: a protocol breach.
  auto spoofed = HandleSealed(hub.Context(), Info(f.b),
                              f.Envelope(f.a, f.c, 1, "x.example"), 0);
  ASSERT_TRUE(spoofed.ok());
  EXPECT_EQ(spoofed->kind, SealedOutcome::kBreach);
  // A recipient outside the roster.
  Member stranger{"STRANGER", "FR"};
  auto unknown = HandleSealed(hub.Context(), Info(f.a),
                              f.Envelope(f.a, stranger, 1, "y.example"), 0);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->kind, SealedOutcome::kRefused);
  EXPECT_NE(unknown->reason.find("not in the hub's roster"), std::string::npos);
  // Garbage bytes.
  std::vector<uint8_t> junk(100, 7);
  auto garbage = HandleSealed(hub.Context(), Info(f.a), junk, 0);
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->kind, SealedOutcome::kBreach);
  EXPECT_TRUE(hub.Pending(f.c).empty());
  // Only the audited refusal is a refusal; breaches close the link.
  EXPECT_EQ(hub.Counted("refused", "unknown_recipient"), 1u);
  EXPECT_EQ(hub.Counted("stored"), 0u);
}

TEST(HubRelayTest, NodeThatIsNotAHubRefuses) {
  Federation f;
  Node plain(f.h, {f.a.Roster(), f.c.Roster()}, /*hub_enabled=*/false);
  auto out = HandleSealed(plain.Context(), Info(f.a),
                          f.Envelope(f.a, f.c, 1, "z.example"), 0);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kRefused);
  EXPECT_NE(out->reason.find("not a hub"), std::string::npos);
  EXPECT_EQ(plain.Counted("refused", "not_hub"), 1u);
  EXPECT_EQ(plain.Audit("hub_refuse").size(), 1u);
}

TEST(HubRelayTest, RecipientStoresVerifiedRecordsWithTheSenderAsSource) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  auto env = f.Envelope(f.a, f.c, 9, "arrived.example");
  auto out = HandleSealed(c.Context(), Info(f.h), env, /*hub_seq=*/3);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->kind, SealedOutcome::kApplied) << out->reason;
  EXPECT_TRUE(out->for_us);
  EXPECT_EQ(out->inbound.accepted, 1u);
  EXPECT_TRUE(out->inbound.stored_new);
  auto reader = c.store->OpenReader();
  auto log = (*reader)->LogRange(0, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().received_from, f.a.name);
  auto state = (*reader)->GetPeerState(f.a.name);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->inbound_seq, 9u);
  auto audit = c.Audit("sealed_receive");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_NE(audit[0].event.detail.find("\"via\":\"HUB\""), std::string::npos);

  // Delivered twice (the hub did not see our ack): nothing new.
  auto twice = HandleSealed(c.Context(), Info(f.h), env, 3);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->kind, SealedOutcome::kApplied);
  EXPECT_EQ(twice->inbound.accepted, 0u);
  EXPECT_EQ(twice->inbound.duplicates, 1u);
  EXPECT_EQ((*reader)->LogRange(0, 10)->size(), 1u);
}

TEST(HubRelayTest, RecipientRefusesSendersNotRoutedThroughThatHub) {
  Federation f;
  // A is a direct peer of C here, not via HUB; B is not in the roster.
  Node c(f.c, {f.a.Roster(), f.h.Roster()}, false);
  auto out = HandleSealed(c.Context(), Info(f.h),
                          f.Envelope(f.a, f.c, 1, "a.example"), 1);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kRefused);
  EXPECT_NE(out->reason.find("does not route"), std::string::npos);
  auto stranger = HandleSealed(c.Context(), Info(f.h),
                               f.Envelope(f.b, f.c, 1, "b.example"), 2);
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(stranger->kind, SealedOutcome::kRefused);
  EXPECT_NE(stranger->reason.find("not in the roster"), std::string::npos);
  EXPECT_EQ(c.Audit("reject").size(), 2u);
  auto reader = c.store->OpenReader();
  EXPECT_TRUE((*reader)->LogRange(0, 10)->empty());
}

TEST(HubRelayTest, ForwardedEnvelopeForSomeoneElseIsABreach) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster(), f.b.Roster("HUB")}, false);
  auto out = HandleSealed(c.Context(), Info(f.h),
                          f.Envelope(f.a, f.b, 1, "b-only.example"), 5);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kBreach);
}

}  // namespace
}  // namespace caravan::daemon::sync
