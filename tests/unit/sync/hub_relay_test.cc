#include "daemon/sync/hub_relay.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/identity_x25519.h"
#include "crypto/seal.h"
#include "crypto/sealed_batch_signature.h"
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
    ctx.identity = self_.key.get();
    ctx.self_name = self_.name;
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

  static SealedHeaderInfo Header(const Member& from, const Member& to,
                                 uint64_t up_to) {
    SealedHeaderInfo header;
    header.envelope_id = NewEnvelopeId();
    header.sender_name = from.name;
    header.sender_key = from.key->public_key();
    header.recipient_key = to.key->public_key();
    header.first_seq = up_to;
    header.up_to_seq = up_to;
    return header;
  }

  std::vector<uint8_t> Envelope(const Member& from, const Member& to,
                                uint64_t up_to, const std::string& value,
                                ChainLink link = {1, {}}) {
    const SealedHeaderInfo header = Header(from, to, up_to);
    auto env = SealBatch(header, link,
                         {{up_to, SignedBy(from, value, up_to)}}, *from.key,
                         kMax);
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

  EXPECT_FALSE(out->reply.empty());  // our receipt back to A

  // Delivered twice (the hub did not see our ack): a duplicate of the
  // chain, dropped without touching the records, audited once.
  auto twice = HandleSealed(c.Context(), Info(f.h), env, 3);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->kind, SealedOutcome::kDuplicate);
  EXPECT_EQ(twice->chain_fault, "duplicate");
  EXPECT_EQ((*reader)->LogRange(0, 10)->size(), 1u);
  EXPECT_EQ(c.Audit("sealed_duplicate").size(), 1u);
  EXPECT_EQ(c.Audit("sealed_receive").size(), 1u);
}

// Compromise notices through the hub (issue 16): A's batch carries its
// notice that B's key is compromised since T together with a record B
// signed after T that A relays. C applies the notice first, exactly as a
// direct link's (act "quarantine": the key recorded, audited with the
// hub), so the record in the same batch is quarantined on arrival. The
// same batch again is a duplicate: the notice is not applied twice.
TEST(HubRelayTest, ABatchsCompromiseNoticeIsAppliedBeforeItsRecords) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster(), f.b.Roster("HUB")}, false);
  SealedContext ctx = c.Context();
  ctx.act_on_notices =
      protocol::NodeConfig::Inbound::OnCompromiseNotice::kQuarantine;
  const int64_t since = 1'600'000'000;  // before B's record (created 1.7e9)
  const CompromiseNotice notice = SignCompromiseNotice(
      *f.a.key, f.b.key->public_key(), since, 1'700'000'050);
  const SealedHeaderInfo header = Federation::Header(f.a, f.c, 5);
  auto batch = EncodeSealedBatch(header, {{5, SignedBy(f.b, "b-late.example")}});
  ASSERT_TRUE(batch.ok());
  const std::vector<CompromiseNotice> notices = {notice};
  auto env = SealEncodedBatch(header, {1, {}}, *batch, *f.a.key, kMax,
                              nullptr, notices);
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto out = HandleSealed(ctx, Info(f.h), *env, /*hub_seq=*/1);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->kind, SealedOutcome::kApplied) << out->reason;
  ASSERT_EQ(out->notices.size(), 1u);
  EXPECT_EQ(out->notices[0].result, "quarantine") << out->notices[0].reason;
  EXPECT_EQ(out->notices[0].event, "notice_quarantine");
  EXPECT_TRUE(out->notices[0].refuse_links);
  EXPECT_EQ(out->inbound.quarantined, 1u);
  EXPECT_EQ(out->inbound.accepted, 0u);
  auto applied = c.Audit("compromise-notice");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].event.actor, "peer:" + f.a.name);
  EXPECT_NE(applied[0].event.detail.find("\"via\":\"HUB\""),
            std::string::npos)
      << applied[0].event.detail;
  auto received = c.Audit("sealed_receive");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_NE(received[0].event.detail.find("\"notices\":1"), std::string::npos);
  EXPECT_FALSE(out->reply.empty());  // receipted like any batch

  auto twice = HandleSealed(ctx, Info(f.h), *env, 2);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->kind, SealedOutcome::kDuplicate);
  EXPECT_TRUE(twice->notices.empty());
  EXPECT_EQ(c.Audit("compromise-notice").size(), 1u);

  // The next batch carries the same notice again (the sender restarted
  // before our receipt): refused as replayed, nothing applied twice.
  SealedHeaderInfo next = header;
  next.envelope_id = NewEnvelopeId();
  auto empty = EncodeSealedBatch(next, {});
  ASSERT_TRUE(empty.ok());
  auto again = SealEncodedBatch(next, {2, EnvelopeHash(*env)}, *empty,
                                *f.a.key, kMax, nullptr, notices);
  ASSERT_TRUE(again.ok());
  auto replay = HandleSealed(ctx, Info(f.h), *again, 3);
  ASSERT_TRUE(replay.ok());
  ASSERT_EQ(replay->kind, SealedOutcome::kApplied);
  ASSERT_EQ(replay->notices.size(), 1u);
  EXPECT_EQ(replay->notices[0].event, "notice_refused_replayed");
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

TEST(HubRelayTest, ForwardedEnvelopeForSomeoneElseIsSetAsideNotABreach) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster(), f.b.Roster("HUB")}, false);
  auto out = HandleSealed(c.Context(), Info(f.h),
                          f.Envelope(f.a, f.b, 1, "b-only.example"), 5);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kRefused);
  EXPECT_NE(out->reason.find("another member"), std::string::npos);
  EXPECT_EQ(c.Audit("sealed_refuse").size(), 1u);
  // The same from the sender itself (no hubSeq) still breaks the link.
  auto direct = HandleSealed(c.Context(), Info(f.a),
                             std::vector<uint8_t>(64, 7), 0);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->kind, SealedOutcome::kBreach);
}

// ---- Hub accountability: the recipient's chain ------------------------

// A's chain to C: envelope i (1-based) carries value "v<i>.example" at A's
// log seq i, chained to envelope i-1.
struct Chain {
  explicit Chain(Federation& f, size_t n) {
    ChainHash prev{};
    for (uint64_t i = 1; i <= n; ++i) {
      envelopes.push_back(f.Envelope(f.a, f.c, i,
                                     "v" + std::to_string(i) + ".example",
                                     {i, prev}));
      prev = EnvelopeHash(envelopes.back());
    }
  }
  std::vector<std::vector<uint8_t>> envelopes;
};

// What C's reply says, opened as A.
SealedReceiptInfo ReplyAsA(Federation& f, const SealedOutcome& out) {
  auto a_x = crypto::IdentityToX25519Key(*f.a.key);
  auto opened = OpenSealed(out.reply, *a_x, f.a.key->public_key(), kMax);
  EXPECT_TRUE(opened.ok()) << opened.status().message();
  if (!opened.ok() || !opened->inner.receipt) return {};
  EXPECT_EQ(opened->header.sender_key, f.c.key->public_key());
  return *opened->inner.receipt;
}

TEST(HubRelayTest, GapIsSetAsideAuditedAndTheSenderAskedToResend) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  Chain chain(f, 3);
  auto first = HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->kind, SealedOutcome::kApplied);
  EXPECT_EQ(ReplyAsA(f, *first).committed_seq, 1u);
  EXPECT_EQ(ReplyAsA(f, *first).committed_hash,
            EnvelopeHash(chain.envelopes[0]));
  // The hub drops envelope 2: envelope 3 is set aside, not applied.
  auto third = HandleSealed(c.Context(), Info(f.h), chain.envelopes[2], 3);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->kind, SealedOutcome::kSetAside);
  EXPECT_EQ(third->chain_fault, "gap");
  auto ask = ReplyAsA(f, *third);
  EXPECT_EQ(ask.committed_seq, 1u);
  EXPECT_EQ(ask.resend_from, 2u);
  auto gaps = c.Audit("hub_gap");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_NE(gaps[0].event.detail.find("\"expected_seq\":2"), std::string::npos)
      << gaps[0].event.detail;
  EXPECT_NE(gaps[0].event.detail.find("\"got_seq\":3"), std::string::npos);
  EXPECT_NE(gaps[0].event.detail.find("\"via\":\"HUB\""), std::string::npos);
  auto reader = c.store->OpenReader();
  EXPECT_EQ((*reader)->LogRange(0, 10)->size(), 1u);
  // The resend (2 then 3) applies both, in order, exactly once.
  for (size_t i : {1u, 2u}) {
    auto again = HandleSealed(c.Context(), Info(f.h), chain.envelopes[i],
                              10 + i);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->kind, SealedOutcome::kApplied) << i;
  }
  EXPECT_EQ((*reader)->LogRange(0, 10)->size(), 3u);
  auto chains = (*reader)->SealedChainsIn();
  ASSERT_TRUE(chains.ok());
  ASSERT_EQ(chains->size(), 1u);
  EXPECT_EQ(chains->front().last_seq, 3u);
  EXPECT_EQ(chains->front().gaps, 1u);
  EXPECT_EQ(chains->front().last_hash, EnvelopeHash(chain.envelopes[2]));
}

TEST(HubRelayTest, ReorderAndReplayApplyEachBatchOnceInOrder) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  Chain chain(f, 2);
  // The hub swaps 1 and 2: 2 is set aside, 1 applied, the resent 2
  // applied, and a replay of 1 changes nothing.
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[1], 1)->kind,
            SealedOutcome::kSetAside);
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 2)->kind,
            SealedOutcome::kApplied);
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[1], 3)->kind,
            SealedOutcome::kApplied);
  auto replay = HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 4);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->kind, SealedOutcome::kDuplicate);
  EXPECT_EQ(ReplyAsA(f, *replay).committed_seq, 2u);
  EXPECT_EQ(ReplyAsA(f, *replay).resend_from, 0u);
  auto reader = c.store->OpenReader();
  auto log = (*reader)->LogRange(0, 10);
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ(c.Audit("sealed_receive").size(), 2u);
  EXPECT_EQ(c.Audit("hub_gap").size(), 1u);
  EXPECT_EQ(c.Audit("sealed_duplicate").size(), 1u);
}

TEST(HubRelayTest, ChainStateSurvivesARestart) {
  Federation f;
  Chain chain(f, 2);
  TempDir shared;
  const std::string path = shared.File("c.db");
  {
    Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
    auto opened = store::Store::Open(path);
    ASSERT_TRUE(opened.ok());
    c.store = std::move(*opened);
    EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 1)->kind,
              SealedOutcome::kApplied);
  }
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  auto reopened = store::Store::Open(path);
  ASSERT_TRUE(reopened.ok());
  c.store = std::move(*reopened);
  // After the restart envelope 1 is still a duplicate and 2 the next.
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 2)->kind,
            SealedOutcome::kDuplicate);
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[1], 3)->kind,
            SealedOutcome::kApplied);
}

TEST(HubRelayTest, BrokenChainIsAppliedAndAudited) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  Chain chain(f, 1);
  ASSERT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 1)->kind,
            SealedOutcome::kApplied);
  ChainHash wrong{};
  wrong.fill(9);
  auto forked = f.Envelope(f.a, f.c, 2, "fork.example", {2, wrong});
  auto out = HandleSealed(c.Context(), Info(f.h), forked, 2);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kApplied);
  EXPECT_EQ(out->chain_fault, "broken");
  EXPECT_EQ(c.Audit("sealed_chain_broken").size(), 1u);
}

TEST(HubRelayTest, PoisonEnvelopesAreRefusedReportedAndNotFatal) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  Chain chain(f, 1);
  // Bit rot in the ciphertext: refused with the reason, reported to A.
  auto rotten = chain.envelopes[0];
  rotten.back() ^= 0x40;
  auto out = HandleSealed(c.Context(), Info(f.h), rotten, 7);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kRefused);
  EXPECT_NE(out->reason.find("does not open"), std::string::npos);
  auto report = ReplyAsA(f, *out);
  ASSERT_TRUE(report.refused_envelope.has_value());
  EXPECT_EQ(report.resend_from, 1u);
  EXPECT_NE(report.refused_reason.find("does not open"), std::string::npos);
  // A mangled header: refused (no sender to report to), not a breach.
  auto mangled = chain.envelopes[0];
  mangled[8] ^= 0xff;
  auto header_out = HandleSealed(c.Context(), Info(f.h), mangled, 8);
  ASSERT_TRUE(header_out.ok());
  EXPECT_EQ(header_out->kind, SealedOutcome::kRefused);
  // Old-format envelope: refused by name.
  SealedHeaderInfo old;
  old.envelope_id = NewEnvelopeId();
  old.sender_name = f.a.name;
  old.sender_key = f.a.key->public_key();
  old.recipient_key = f.c.key->public_key();
  old.first_seq = old.up_to_seq = 1;
  old.format_version = 0;
  auto x = crypto::IdentityToX25519Public(f.c.key->public_key());
  auto old_env = crypto::Seal(EncodeSealedHeader(old),
                              std::vector<uint8_t>(200, 1), {*x});
  auto old_out = HandleSealed(c.Context(), Info(f.h), *old_env, 9);
  ASSERT_TRUE(old_out.ok());
  EXPECT_EQ(old_out->kind, SealedOutcome::kRefused);
  EXPECT_NE(old_out->reason.find("format 0"), std::string::npos);
  EXPECT_EQ(c.Audit("sealed_refuse").size(), 3u);
  // The good envelope still applies afterwards.
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 10)->kind,
            SealedOutcome::kApplied);
  auto reader = c.store->OpenReader();
  EXPECT_EQ((*reader)->SealedChainsIn()->front().refused, 2u);
}

// A's signed chain restart, as it would seal it to C.
std::vector<uint8_t> RestartEnvelope(Federation& f, uint64_t next,
                                     const ChainHash& prev, uint64_t lost_from,
                                     const Member* signer = nullptr) {
  SealedHeaderInfo h;
  h.envelope_id = NewEnvelopeId();
  h.sender_name = f.a.name;
  h.sender_key = f.a.key->public_key();
  h.recipient_key = f.c.key->public_key();
  SealedRestartInfo r{next, prev, lost_from, "outbox row gone"};
  if (signer == nullptr) {
    auto env = SealRestart(h, r, *f.a.key, kMax);
    EXPECT_TRUE(env.ok()) << env.status().message();
    return env.ok() ? *env : std::vector<uint8_t>{};
  }
  // Forged: the same plaintext layout (hub_envelope.h), signed by
  // `signer` in A's name (SealRestart itself refuses to).
  SealedInnerInfo inner;
  inner.restart = r;
  const auto inner_bytes = EncodeSealedInner(inner);
  std::vector<uint8_t> signed_part;
  for (int shift = 24; shift >= 0; shift -= 8) {
    signed_part.push_back(static_cast<uint8_t>(inner_bytes.size() >> shift));
  }
  signed_part.insert(signed_part.end(), inner_bytes.begin(), inner_bytes.end());
  const auto header_bytes = EncodeSealedHeader(h);
  auto sig = crypto::SignSealedBatch(*signer->key, header_bytes, signed_part);
  std::vector<uint8_t> plaintext(sig.begin(), sig.end());
  plaintext.insert(plaintext.end(), signed_part.begin(), signed_part.end());
  plaintext.push_back(0x80);
  plaintext.resize(kSealedPadFloor, 0);
  auto x = crypto::IdentityToX25519Public(f.c.key->public_key());
  auto env = crypto::Seal(header_bytes, plaintext, {*x});
  EXPECT_TRUE(env.has_value());
  return env ? *env : std::vector<uint8_t>{};
}

// Chain restart (docs/federation.md): A lost batches 2 and 3 (its own
// outbox rows) and so did the hub. C, stuck asking for 2, takes A's
// signed restart, audits what it will never get, and goes on with A's
// next batch; replayed, backwards and forged restarts are refused and
// change nothing.
TEST(HubRelayTest, SignedChainRestartSkipsTheLostBatchesOnce) {
  Federation f;
  Node c(f.c, {f.a.Roster("HUB"), f.h.Roster()}, false);
  Chain chain(f, 4);
  ASSERT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[0], 1)->kind,
            SealedOutcome::kApplied);
  ASSERT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[3], 2)->kind,
            SealedOutcome::kSetAside);
  auto chain_in = [&] {
    auto reader = c.store->OpenReader();
    return (*reader)->SealedChainsIn()->front();
  };
  // Forged: signed by the hub in A's name. Refused, chain unchanged.
  auto forged = HandleSealed(c.Context(), Info(f.h),
                             RestartEnvelope(f, 5, {}, 2, &f.h), 3);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(forged->kind, SealedOutcome::kRefused);
  EXPECT_NE(forged->reason.find("not signed by the sender"), std::string::npos)
      << forged->reason;
  EXPECT_EQ(chain_in().last_seq, 1u);
  // The real one: A goes on at 5 (its head was 4), chained to batch 4.
  const ChainHash head = EnvelopeHash(chain.envelopes[3]);
  const auto restart = RestartEnvelope(f, 5, head, 2);
  auto out = HandleSealed(c.Context(), Info(f.h), restart, 5);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kRestarted);
  EXPECT_EQ(out->chain_fault, "broken");
  auto receipt = ReplyAsA(f, *out);
  EXPECT_EQ(receipt.committed_seq, 4u);
  EXPECT_EQ(receipt.committed_hash, head);
  EXPECT_EQ(receipt.resend_from, 0u);
  auto audited = c.Audit("sealed_chain_restart");
  ASSERT_EQ(audited.size(), 1u);
  const std::string& d = audited[0].event.detail;
  EXPECT_NE(d.find("\"lost_from\":2"), std::string::npos) << d;
  EXPECT_NE(d.find("\"lost_to\":4"), std::string::npos) << d;
  EXPECT_NE(d.find("\"lost\":3"), std::string::npos) << d;
  EXPECT_NE(d.find("outbox row gone"), std::string::npos) << d;
  EXPECT_EQ(chain_in().last_seq, 4u);
  EXPECT_EQ(chain_in().last_hash, head);
  // Replayed: C is at its point now. Refused, audited, nothing moves.
  auto replay = HandleSealed(c.Context(), Info(f.h), restart, 6);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->kind, SealedOutcome::kRefused);
  EXPECT_NE(replay->reason.find("replayed"), std::string::npos);
  // Backwards once C moved on: a restart to 3 is refused by name.
  auto behind = HandleSealed(c.Context(), Info(f.h),
                             RestartEnvelope(f, 3, {}, 2), 7);
  ASSERT_TRUE(behind.ok());
  EXPECT_EQ(behind->kind, SealedOutcome::kRefused);
  EXPECT_NE(behind->reason.find("backwards"), std::string::npos);
  EXPECT_EQ(chain_in().last_seq, 4u);
  EXPECT_EQ(c.Audit("sealed_chain_restart").size(), 1u);
  // A's next batch (5, chained to 4) applies; the old 2..4 are duplicates.
  auto next = f.Envelope(f.a, f.c, 9, "again.example", {5, head});
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), next, 8)->kind,
            SealedOutcome::kApplied);
  EXPECT_EQ(HandleSealed(c.Context(), Info(f.h), chain.envelopes[1], 9)->kind,
            SealedOutcome::kDuplicate);
}

TEST(HubRelayTest, HubRefusesOldFormatByName) {
  Federation f;
  Node hub(f.h, {f.a.Roster(), f.c.Roster()}, true);
  SealedHeaderInfo old;
  old.envelope_id = NewEnvelopeId();
  old.sender_name = f.a.name;
  old.sender_key = f.a.key->public_key();
  old.recipient_key = f.c.key->public_key();
  old.first_seq = old.up_to_seq = 1;
  old.format_version = 0;
  auto x = crypto::IdentityToX25519Public(f.c.key->public_key());
  auto env = crypto::Seal(EncodeSealedHeader(old), std::vector<uint8_t>(9, 1),
                          {*x});
  auto out = HandleSealed(hub.Context(), Info(f.a), *env, 0);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind, SealedOutcome::kRefused);
  EXPECT_NE(out->reason.find("format 0"), std::string::npos);
  EXPECT_EQ(hub.Counted("refused", "old_format"), 1u);
}

}  // namespace
}  // namespace caravan::daemon::sync
