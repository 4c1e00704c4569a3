// DecideNextPage, RedecideWithheld and RecordAcknowledged
// (daemon/sync/outbound_page.h): what one page of our log
// writes. A full page with nothing to send or hold for the peer (on a
// catch-up from that peer, every page is its own records) writes nothing;
// the page that ends the log, or holds something, records the cursor.

#include "daemon/sync/outbound_page.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/identity_key.h"
#include "daemon/policy/policy.h"
#include "daemon/sync/unacked_page.h"
#include "protocol/record_codec.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::daemon::sync {
namespace {

using store::testing::KeyOf;
using store::testing::MakeRow;
using store::testing::OpenOrDie;
using store::testing::ReaderOrDie;
using store::testing::TempDir;

constexpr uint8_t kPeerKeyByte = 9;

class OutboundPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(dir_.File("s.db"));
    reader_ = ReaderOrDie(*store_);
    peer_ = {"CERT-P", "KZ", KeyOf(kPeerKeyByte)};
    // The peer is known (its inbound cursor exists), nothing decided yet.
    Status s = store_->Write([this](store::WriteTxn& txn) {
      return txn.AdvanceInbound(peer_.name, 0);
    }).get();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Stores `n` records of origin `origin_byte`, received from `from`.
  void Store(int first, int n, uint8_t origin_byte, const std::string& from) {
    Status s = store_->Write([=, this](store::WriteTxn& txn) -> Status {
      for (int i = first; i < first + n; ++i) {
        auto row = MakeRow(protocol::IndicatorType::kDomain,
                           "p" + std::to_string(i) + ".example", 1,
                           origin_byte, "KZ");
        row.received_from = from;
        auto o = txn.InsertRecord(row);
        if (!o.ok()) return o.status();
      }
      return Status::Ok();
    }).get();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Result<OutboundPage> Decide(uint64_t after) {
    PageContext ctx{store_.get(), reader_.get(), &policy_, identity_.get(),
                    1'700'000'000};
    return DecideNextPage(ctx, peer_, after, 1000);
  }

  // Decides the page after `after`: nothing to send, `full` and `up_to` as
  // given.
  void ExpectPage(uint64_t after, bool full, uint64_t up_to) {
    auto page = Decide(after);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_TRUE(page->sends.empty());
    EXPECT_EQ(page->full, full);
    EXPECT_EQ(page->up_to_seq, up_to);
  }

  uint64_t DecidedSeq() {
    auto state = reader_->GetPeerState(peer_.name);
    EXPECT_TRUE(state.ok());
    return state.ok() ? state->decided_seq : 0;
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::Reader> reader_;
  policy::PolicySet policy_;  // default deny
  std::unique_ptr<crypto::IdentityKey> identity_ =
      crypto::IdentityKey::Generate();
  PeerInfo peer_;
};

TEST_F(OutboundPageTest, FullPagesOfThePeersOwnRecordsWriteNothing) {
  Store(0, 2500, kPeerKeyByte, peer_.name);
  ExpectPage(0, /*full=*/true, 1000);
  EXPECT_EQ(DecidedSeq(), 0u);
  ExpectPage(1000, /*full=*/true, 2000);
  EXPECT_EQ(DecidedSeq(), 0u);
  // The last page (the log ends inside it) records how far we decided.
  ExpectPage(2000, /*full=*/false, 2500);
  EXPECT_EQ(DecidedSeq(), 2500u);
}

TEST_F(OutboundPageTest, APageThatEndsTheLogExactlyIsNotSilent) {
  // 2000 records: the second page is as long as the limit, but nothing
  // follows it, so it is the last one and records the cursor (else the
  // peer would never hear how far we decided).
  Store(0, 2000, kPeerKeyByte, peer_.name);
  ExpectPage(0, /*full=*/true, 1000);
  ExpectPage(1000, /*full=*/false, 2000);
  EXPECT_EQ(DecidedSeq(), 2000u);
}

TEST_F(OutboundPageTest, AFullPageThatHoldsSomethingIsWritten) {
  // Another origin's records from another peer: the peer may get them, but
  // the test's unreadable bytes (and the default-deny policy) hold them,
  // and a hold is written.
  Store(0, 1500, /*origin_byte=*/3, "CERT-X");
  ExpectPage(0, /*full=*/true, 1000);
  EXPECT_EQ(DecidedSeq(), 1000u);
  auto withheld = reader_->WithheldForPeer(peer_.name, 0, 2000);
  ASSERT_TRUE(withheld.ok());
  EXPECT_EQ(withheld->size(), 1000u);
}

// Issue 13 finding 1: only current revisions leave. Revision 1 of a value
// whose revision 2 is stored is never decided for the peer (no send, no
// withheld row); the later entry decides.
TEST_F(OutboundPageTest, SupersededRevisionsAreSkippedTheCurrentOneDecides) {
  Status s = store_->Write([](store::WriteTxn& txn) -> Status {
    for (uint32_t rev : {1u, 2u}) {
      auto row = MakeRow(protocol::IndicatorType::kDomain, "sup.example", rev,
                         /*origin_byte=*/3, "UZ");
      row.received_from = "CERT-X";
      auto o = txn.InsertRecord(row);
      if (!o.ok()) return o.status();
    }
    return Status::Ok();
  }).get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto page = Decide(0);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->sends.empty());
  EXPECT_EQ(page->settled, std::vector<uint64_t>{1});
  auto withheld = reader_->WithheldForPeer(peer_.name, 0, 10);
  ASSERT_TRUE(withheld.ok());
  ASSERT_EQ(withheld->size(), 1u);
  EXPECT_EQ((*withheld)[0].seq, 2u) << "the current revision decides";
}

// A withheld row of a revision that was superseded since is forgotten when
// it is re-decided, not re-audited forever.
TEST_F(OutboundPageTest, ReDecisionForgetsWithheldRowsOfSupersededRevisions) {
  Store(0, 1, /*origin_byte=*/3, "CERT-X");  // p0.example revision 1, seq 1
  ASSERT_TRUE(Decide(0).ok());
  ASSERT_EQ(reader_->WithheldForPeer(peer_.name, 0, 10)->size(), 1u);
  Status s = store_->Write([](store::WriteTxn& txn) -> Status {
    auto row = MakeRow(protocol::IndicatorType::kDomain, "p0.example", 2,
                       /*origin_byte=*/3, "KZ");
    row.received_from = "CERT-X";
    return txn.InsertRecord(row).status();
  }).get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  PageContext ctx{store_.get(), reader_.get(), &policy_, identity_.get(),
                  1'700'000'000};
  uint64_t next = 0;
  auto page = RedecideWithheld(ctx, peer_, /*all=*/true, 0, &next);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->sends.empty());
  auto withheld = reader_->WithheldForPeer(peer_.name, 0, 10);
  ASSERT_TRUE(withheld.ok());
  EXPECT_TRUE(withheld->empty()) << "row of seq " << (*withheld)[0].seq;
}

// Issue 13 finding 2 (the in-flight half): revision 1 was sent while the
// peer held nothing, and revision 2 (here a revocation would be the worst
// case) was decided before the acknowledgement recorded the delivery. The
// acknowledgement marks revision 2's record due, so the periodic
// re-decision judges it again with the peer as a holder.
TEST_F(OutboundPageTest, AcknowledgingASupersededRevisionMarksTheCurrentDue) {
  const auto first = MakeRow(protocol::IndicatorType::kDomain, "race.example",
                             1, /*origin_byte=*/3, "UZ");
  Status s = store_->Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(txn.InsertRecord(first).status());
    auto second = MakeRow(protocol::IndicatorType::kDomain, "race.example", 2,
                          /*origin_byte=*/3, "UZ");
    return txn.InsertRecord(second).status();
  }).get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  PageContext ctx{store_.get(), reader_.get(), &policy_, identity_.get(),
                  1'700'000'000};
  s = RecordAcknowledged(ctx, peer_, 1, {{1, first.id, 1, 0, {}}}, 0, 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto withheld = reader_->WithheldForPeer(peer_.name, 0, 10);
  ASSERT_TRUE(withheld.ok());
  ASSERT_EQ(withheld->size(), 1u);
  EXPECT_EQ((*withheld)[0].seq, 2u);
  EXPECT_EQ((*withheld)[0].rule, "(sync):superseded_in_flight");
  EXPECT_GT((*withheld)[0].retry_at, 0) << "not due: never re-decided";
  // An acknowledgement of the current revision itself marks nothing.
  s = RecordAcknowledged(ctx, peer_, 2, {{2, first.id, 2, 0, {}}}, 0, 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(reader_->WithheldForPeer(peer_.name, 0, 10)->size(), 1u);
}

// The page text is written by hand (unacked_page.cc); rows written before
// that were json::dump() of a tree. Both must read the same, so the text
// must be the same: compared with that tree's dump, rules with characters
// JSON escapes included.
TEST(UnackedPageTest, TextIsTheJsonTreeDumpOfTheSameRecords) {
  const policy::Rule plain{"policies/kz.toml", 3, "outbound.max_tlp",
                           "green <= amber"};
  const policy::Rule odd{"p\"q\\r.toml", -1, "k\ty", "line\nbreak \x01 \u00e9"};
  std::vector<SentRecord> sent;
  for (uint64_t seq :
       {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{1} << 32}) {
    SentRecord s;
    s.seq = seq;
    s.id = KeyOf(static_cast<uint8_t>(seq * 37));
    s.revision = static_cast<uint32_t>(seq) * 7;
    s.variant = seq == 3 ? kWithdrawalVariant : 0;
    s.rule = seq % 2 ? plain : odd;
    s.withdrawal = seq == 3;
    s.log_end = seq * 1000;
    s.from_withheld = seq == 2;
    sent.push_back(s);
  }
  for (size_t n : {size_t{0}, size_t{1}, sent.size()}) {
    const std::vector<SentRecord> part(sent.begin(), sent.begin() + n);
    nlohmann::json rules = nlohmann::json::array();
    nlohmann::json records = nlohmann::json::array();
    std::vector<policy::Rule> seen;
    for (const SentRecord& s : part) {
      size_t at = std::find(seen.begin(), seen.end(), s.rule) - seen.begin();
      if (at == seen.size()) {
        seen.push_back(s.rule);
        rules.push_back(nlohmann::json::array(
            {s.rule.file, s.rule.line, s.rule.key, s.rule.reason}));
      }
      records.push_back(nlohmann::json::array(
          {s.seq, protocol::IdToHex(s.id), s.revision, s.variant, at,
           s.withdrawal, s.log_end, s.from_withheld}));
    }
    const std::string tree =
        nlohmann::json{{"rules", rules}, {"sent", records}}.dump();
    EXPECT_EQ(EncodeUnackedPage(part), tree);
    auto back = DecodeUnackedPage(tree);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->size(), n);
  }
}

TEST(UnackedPageTest, RoundTripsEveryFieldAndWritesEachRuleOnce) {
  const policy::Rule share_rule{"policies/kz.toml", 3, "outbound.max_tlp",
                                "green <= amber"};
  const policy::Rule other_rule{"", 0, "revocation", "peer holds it"};
  std::vector<SentRecord> sent;
  for (uint64_t seq : {5u, 6u, 9u}) {
    SentRecord s;
    s.seq = seq;
    s.id = KeyOf(static_cast<uint8_t>(seq));
    s.revision = static_cast<uint32_t>(seq * 2);
    s.variant = seq == 9 ? kWithdrawalVariant : 1;
    s.rule = seq == 6 ? other_rule : share_rule;
    s.withdrawal = seq == 9;
    s.log_end = 100 + seq;
    s.from_withheld = seq == 5;
    sent.push_back(s);
  }
  const std::string text = EncodeUnackedPage(sent);
  EXPECT_EQ(text.find("outbound.max_tlp"), text.rfind("outbound.max_tlp"))
      << text;
  auto back = DecodeUnackedPage(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ((*back)[i].seq, sent[i].seq);
    EXPECT_EQ((*back)[i].id, sent[i].id);
    EXPECT_EQ((*back)[i].revision, sent[i].revision);
    EXPECT_EQ((*back)[i].variant, sent[i].variant);
    EXPECT_EQ((*back)[i].rule, sent[i].rule);
    EXPECT_EQ((*back)[i].withdrawal, sent[i].withdrawal);
    EXPECT_EQ((*back)[i].log_end, sent[i].log_end);
    EXPECT_EQ((*back)[i].from_withheld, sent[i].from_withheld);
  }
  for (const char* broken :
       {"", "[]", "{\"rules\":[],\"sent\":[[1]]}",
        "{\"rules\":[],\"sent\":[[1,\"00\",1,0,0,false,0,false]]}"}) {
    EXPECT_FALSE(DecodeUnackedPage(broken).ok()) << broken;
  }
}

// The stop-after-send race (tests/integration/federation_property_test.cc,
// StopRightAfterSendKeepsDeliveryAndAudit): the peer committed a page, we
// stopped before recording its acknowledgement. At the next session its
// Hello names the point it holds: the pages up to there are recorded as
// delivered and audited, those after it are dropped (decided again).
TEST_F(OutboundPageTest, RecoveryRecordsPagesThePeerHoldsAndDropsTheRest) {
  const auto held = MakeRow(protocol::IndicatorType::kDomain, "held.example",
                            1, /*origin_byte=*/3, "UZ");
  const auto lost = MakeRow(protocol::IndicatorType::kDomain, "lost.example",
                            1, /*origin_byte=*/3, "UZ");
  const policy::Rule rule{"policies/kz.toml", 2, "outbound", "shared"};
  Status s = store_->Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(txn.InsertRecord(held).status());
    CARAVAN_RETURN_IF_ERROR(txn.InsertRecord(lost).status());
    CARAVAN_RETURN_IF_ERROR(txn.PutUnackedPage(
        peer_.name, 1,
        EncodeUnackedPage({{1, held.id, 1, 0, rule, false, 2, false}})));
    return txn.PutUnackedPage(
        peer_.name, 2,
        EncodeUnackedPage({{2, lost.id, 1, 0, rule, false, 2, false}}));
  }).get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  PageContext ctx{store_.get(), reader_.get(), &policy_, identity_.get(),
                  1'700'000'000};
  s = RecoverAcknowledged(ctx, peer_, /*peer_acked=*/1);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto held_to = reader_->Deliveries(held.id);
  ASSERT_TRUE(held_to.ok());
  ASSERT_EQ(held_to->size(), 1u);
  EXPECT_EQ((*held_to)[0].peer, peer_.name);
  EXPECT_TRUE(reader_->Deliveries(lost.id)->empty());
  EXPECT_EQ(reader_->GetPeerState(peer_.name)->acked_seq, 1u);
  store::AuditFilter filter;
  filter.peer = peer_.name;
  auto audit = reader_->ReadAudit(filter);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->entries.size(), 1u);
  EXPECT_EQ(audit->entries[0].event.action, "share");
  EXPECT_NE(audit->entries[0].event.detail.find(protocol::IdToHex(held.id)),
            std::string::npos);
  // Both rows are gone: a second recovery records nothing twice.
  s = RecoverAcknowledged(ctx, peer_, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(reader_->Deliveries(lost.id)->empty());
  EXPECT_EQ(reader_->ReadAudit(filter)->entries.size(), 1u);
}

// A page that sent nothing (all withheld) has no unacked row; if its
// acknowledgement was lost with the link, the next Hello's point moves our
// acked point, but never past what we decided for that peer.
TEST_F(OutboundPageTest, RecoveryMovesAckedOverPagesThatSentNothing) {
  Status s = store_->Write([&](store::WriteTxn& txn) -> Status {
    return txn.AdvanceDecided(peer_.name, 3);
  }).get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  PageContext ctx{store_.get(), reader_.get(), &policy_, identity_.get(),
                  1'700'000'000};
  ASSERT_TRUE(RecoverAcknowledged(ctx, peer_, 3).ok());
  EXPECT_EQ(reader_->GetPeerState(peer_.name)->acked_seq, 3u);
  ASSERT_TRUE(RecoverAcknowledged(ctx, peer_, 10).ok());
  EXPECT_EQ(reader_->GetPeerState(peer_.name)->acked_seq, 3u);
}

// An entry a re-decision releases keeps its withheld row until the peer
// acknowledges it: stopped in between, the next session re-decides it.
TEST_F(OutboundPageTest, AcknowledgingAnEntrySentFromWithheldRemovesItsRow) {
  const auto row = MakeRow(protocol::IndicatorType::kDomain, "w.example", 1,
                           /*origin_byte=*/3, "UZ");
  Status s = store_->Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(txn.InsertRecord(row).status());
    return txn.AddWithheld({1, peer_.name, "policies/kz.toml:embargo", 0, 0});
  }).get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  PageContext ctx{store_.get(), reader_.get(), &policy_, identity_.get(),
                  1'700'000'000};
  SentRecord sent{1, row.id, 1, 0, {}, false, 1, /*from_withheld=*/true};
  s = RecordAcknowledged(ctx, peer_, 1, {sent}, 0, 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(reader_->WithheldForPeer(peer_.name, 0, 10)->empty());
}

}  // namespace
}  // namespace caravan::daemon::sync
