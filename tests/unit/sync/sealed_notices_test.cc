// Compromise notices through a hub (issue 16, docs/federation.md
// "Compromise notices through a hub"): the notices ride in a sealed
// batch's inner header (SealedInner.notices), signed with the batch; the
// sender chooses the stored rows not already riding, and keeps what a
// batch carries with its outbox row.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crypto/identity_x25519.h"
#include "daemon/sync/hub_envelope.h"
#include "daemon/sync/pending_notices.h"
#include "daemon/sync/unacked_page.h"
#include "tests/unit/sync/hub_test_util.h"

namespace caravan::daemon::sync {
namespace {

using testing::Member;

constexpr size_t kMax = 16 * 1024 * 1024;

struct Pair {
  Member a{"CERT-A", "KZ"};
  Member c{"CERT-C", "UZ"};
  Member b{"CERT-B", "TJ"};

  SealedHeaderInfo Header() const {
    SealedHeaderInfo h;
    h.envelope_id = NewEnvelopeId();
    h.sender_name = a.name;
    h.sender_key = a.key->public_key();
    h.recipient_key = c.key->public_key();
    h.first_seq = 7;
    h.up_to_seq = 7;
    return h;
  }
  CompromiseNotice Notice(int64_t since) const {
    return SignCompromiseNotice(*a.key, b.key->public_key(), since,
                                1'700'000'000);
  }
};

TEST(SealedNotices, ABatchCarriesNoticesSignedInsideTheCiphertext) {
  Pair p;
  const std::vector<CompromiseNotice> notices = {p.Notice(1'600'000'000),
                                                 p.Notice(1'650'000'000)};
  const SealedHeaderInfo header = p.Header();
  auto batch = EncodeSealedBatch(header, {});
  ASSERT_TRUE(batch.ok());
  auto env = SealEncodedBatch(header, {3, {}}, *batch, *p.a.key, kMax,
                              nullptr, notices);
  ASSERT_TRUE(env.ok()) << env.status().message();
  auto me = crypto::IdentityToX25519Key(*p.c.key);
  auto opened = OpenSealed(*env, *me, p.c.key->public_key(), kMax);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->inner.notices, notices);
  EXPECT_EQ(opened->inner.link.pair_seq, 3u);
  EXPECT_TRUE(opened->entries.empty());
  // A batch without notices reads back none.
  auto plain = SealEncodedBatch(header, {3, {}}, *batch, *p.a.key, kMax,
                                nullptr);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(OpenSealed(*plain, *me, p.c.key->public_key(), kMax)
                  ->inner.notices.empty());
  // More than kMaxSealedNotices are refused when sealing.
  const std::vector<CompromiseNotice> nine(kMaxSealedNotices + 1,
                                           p.Notice(1'600'000'000));
  auto over = SealEncodedBatch(header, {3, {}}, *batch, *p.a.key, kMax,
                               nullptr, nine);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("at most 8"), std::string::npos);
}

TEST(SealedNotices, InnerHeaderRefusesNoticesOutsideABatchOrTooMany) {
  Pair p;
  SealedInnerInfo batch;
  batch.link.pair_seq = 2;
  batch.notices = {p.Notice(1'600'000'000)};
  auto fine = DecodeSealedInner(EncodeSealedInner(batch));
  ASSERT_TRUE(fine.ok()) << fine.status().message();
  EXPECT_EQ(*fine, batch);

  SealedInnerInfo receipt;
  receipt.receipt = SealedReceiptInfo{};
  receipt.notices = batch.notices;
  auto in_receipt = DecodeSealedInner(EncodeSealedInner(receipt));
  ASSERT_FALSE(in_receipt.ok());
  EXPECT_NE(in_receipt.status().message().find("only in a batch"),
            std::string::npos);

  SealedInnerInfo restart;
  restart.restart = SealedRestartInfo{3, {}, 1, "lost"};
  restart.notices = batch.notices;
  EXPECT_FALSE(DecodeSealedInner(EncodeSealedInner(restart)).ok());

  SealedInnerInfo many = batch;
  many.notices.assign(kMaxSealedNotices + 1, p.Notice(1'600'000'000));
  auto too_many = DecodeSealedInner(EncodeSealedInner(many));
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("9 compromise notices"),
            std::string::npos)
      << too_many.status().message();

  // A structurally wrong notice (since after its issue time) is named.
  SealedInnerInfo wrong = batch;
  wrong.notices[0].since = wrong.notices[0].issued_at + 10'000;
  auto named = DecodeSealedInner(EncodeSealedInner(wrong));
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.status().message().find("compromise notice 1"),
            std::string::npos)
      << named.status().message();
}

store::PendingNoticeRow Row(const CompromiseNotice& n) {
  store::PendingNoticeRow row;
  row.peer = "CERT-C";
  row.digest = NoticeDigest(n);
  row.notice = EncodeCompromiseNotice(n);
  return row;
}

TEST(SealedNotices, TheSenderChoosesRowsNotRidingAndResignsOldOnes) {
  Pair p;
  const auto n1 = p.Notice(1'600'000'001);
  const auto n2 = p.Notice(1'600'000'002);
  const auto n3 = p.Notice(1'600'000'003);
  store::PendingNoticeRow damaged;
  damaged.peer = "CERT-C";
  damaged.digest.fill(0xdd);
  damaged.notice = {1, 2, 3};
  // Issued by a key we rotated away from: signed again by our key.
  Member old{"CERT-A-OLD", "KZ"};
  const auto n4 = SignCompromiseNotice(*old.key, p.b.key->public_key(),
                                       1'600'000'004, 1'700'000'000);
  const std::vector<store::PendingNoticeRow> rows = {Row(n1), Row(n2), damaged,
                                                     Row(n3), Row(n4)};
  const std::set<NoticeRowDigest> riding = {NoticeDigest(n1)};

  auto first = ChooseSealedNotices(rows, riding, *p.a.key, 1);
  ASSERT_EQ(first.next.rows.size(), 1u);
  EXPECT_EQ(first.next.rows[0], NoticeDigest(n2));
  EXPECT_EQ(first.next.notices[0], n2);
  EXPECT_TRUE(first.more);
  EXPECT_TRUE(first.damaged.empty());

  auto all = ChooseSealedNotices(rows, riding, *p.a.key, kMaxSealedNotices);
  EXPECT_FALSE(all.more);
  ASSERT_EQ(all.damaged.size(), 1u);
  EXPECT_EQ(all.damaged[0], damaged.digest);
  ASSERT_EQ(all.next.rows.size(), 3u);
  EXPECT_EQ(all.next.rows[2], NoticeDigest(n4));  // the stored row's digest
  const CompromiseNotice& resigned = all.next.notices[2];
  EXPECT_EQ(resigned.issuer, p.a.key->public_key());
  EXPECT_EQ(resigned.compromised, n4.compromised);
  EXPECT_EQ(resigned.since, n4.since);
  EXPECT_EQ(resigned.issued_at, n4.issued_at);
  EXPECT_NE(resigned.signature, n4.signature);

  const std::set<NoticeRowDigest> everything = {
      NoticeDigest(n1), NoticeDigest(n2), damaged.digest, NoticeDigest(n3),
      NoticeDigest(n4)};
  auto none = ChooseSealedNotices(rows, everything, *p.a.key, 8);
  EXPECT_TRUE(none.next.rows.empty());
  EXPECT_FALSE(none.more);
}

TEST(SealedNotices, WhatABatchCarriesIsKeptWithItsOutboxRow) {
  Pair p;
  SealedNoticeSet set;
  set.notices = {p.Notice(1'600'000'000)};
  set.rows = {NoticeDigest(set.notices[0])};
  const std::string page = EncodeUnackedPage({});
  const std::string kept = WithSealedNotices(page, set);
  auto back = SealedNoticesOf(kept);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->notices, set.notices);
  EXPECT_EQ(back->rows, set.rows);
  // The page itself still reads as before.
  auto sent = DecodeUnackedPage(kept);
  ASSERT_TRUE(sent.ok());
  EXPECT_TRUE(sent->empty());
  // A row of a batch without notices (or of an older version) has none.
  auto none = SealedNoticesOf(page);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rows.empty());
  // Damaged forms are refused, naming what is wrong.
  for (const char* bad :
       {"[]", "{\"notices\": 3}", "{\"notices\": [[\"zz\", \"00\"]]}",
        "{\"notices\": [[\"00\", \"00\"]]}", "{\"notices\": [\"x\"]}"}) {
    EXPECT_FALSE(SealedNoticesOf(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace caravan::daemon::sync
