// DecideNextPage (daemon/sync/outbound_page.h): what one page of our log
// writes. A full page with nothing to send or hold for the peer (on a
// catch-up from that peer, every page is its own records) writes nothing;
// the page that ends the log, or holds something, records the cursor.

#include <gtest/gtest.h>

#include "crypto/identity_key.h"
#include "daemon/policy/policy.h"
#include "daemon/sync/outbound_page.h"
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

}  // namespace
}  // namespace caravan::daemon::sync
