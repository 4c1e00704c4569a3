// The audit log: appending, filtered reads, and hash-chain verification
// against every kind of tampering with the file.

#include <sqlite3.h>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::RawExec;
using testing::TempDir;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("store.db");
    auto store = OpenOrDie(path_);
    for (int i = 1; i <= 5; ++i) {
      AuditEvent e;
      e.time = 1000 + i;
      e.actor = i % 2 ? "uid:1000" : "peer:KZ-CERT";
      e.action = i % 2 ? "submit" : "accept";
      e.subject = "id" + std::to_string(i);
      e.peer = i % 2 ? "" : "KZ-CERT";
      e.detail = R"({"n":)" + std::to_string(i) + "}";
      Result<uint64_t> seq =
          store->WriteValue<uint64_t>([e](WriteTxn& t) {
            return t.AppendAudit(e);
          }).get();
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      EXPECT_EQ(*seq, static_cast<uint64_t>(i));
    }
  }

  Result<uint64_t> Verify() {
    auto store = OpenOrDie(path_);
    return ReaderOrDie(*store)->VerifyAuditChain();
  }

  // Reads one page with `filter`: exactly the entries `seqs`, and whether
  // more follow.
  static void ExpectPage(Reader& reader, const AuditFilter& filter,
                         const std::vector<uint64_t>& seqs, bool more) {
    Result<AuditPage> p = reader.ReadAudit(filter);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    std::vector<uint64_t> got;
    for (const auto& e : p->entries) got.push_back(e.seq);
    EXPECT_EQ(got, seqs);
    EXPECT_EQ(p->more, more);
  }

  void ExpectCorruptAt(const std::string& needle) {
    Result<uint64_t> v = Verify();
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(v.status().message().find(needle), std::string::npos)
        << v.status().message();
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(AuditTest, IntactChainVerifies) {
  Result<uint64_t> v = Verify();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 5u);
}

TEST_F(AuditTest, AppendAuditsChainsSeveralInOrder) {
  {
    auto store = OpenOrDie(path_);
    std::vector<AuditEvent> events;
    for (int i = 6; i <= 8; ++i) {
      events.push_back({2000 + i, "uid:1000", "submit",
                        "id" + std::to_string(i), "", "{}"});
    }
    Result<uint64_t> last =
        store->WriteValue<uint64_t>([&](WriteTxn& t) {
          return t.AppendAudits(events);
        }).get();
    ASSERT_TRUE(last.ok()) << last.status().ToString();
    EXPECT_EQ(*last, 8u);
  }
  Result<uint64_t> v = Verify();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 8u);
}

TEST_F(AuditTest, AppendAuditsIsAllOrNothing) {
  {
    auto store = OpenOrDie(path_);
    std::vector<AuditEvent> events = {
        {3000, "uid:1000", "submit", "ok", "", "{}"},
        {3001, "", "submit", "no actor", "", "{}"}};
    Result<uint64_t> bad = store->WriteValue<uint64_t>([&](WriteTxn& t) {
                             return t.AppendAudits(events);
                           }).get();
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidInput);
    Result<uint64_t> none = store->WriteValue<uint64_t>([](WriteTxn& t) {
                              return t.AppendAudits({});
                            }).get();
    EXPECT_EQ(none.status().code(), StatusCode::kInvalidInput);
  }
  Result<uint64_t> v = Verify();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 5u);
}

TEST_F(AuditTest, EmptyChainVerifies) {
  TempDir other;
  auto store = OpenOrDie(other.File("empty.db"));
  Result<uint64_t> v = ReaderOrDie(*store)->VerifyAuditChain();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0u);
}

TEST_F(AuditTest, RolledBackAppendLeavesChainIntact) {
  {
    auto store = OpenOrDie(path_);
    Status s = store
                   ->Write([](WriteTxn& t) {
                     AuditEvent e{2000, "node", "share", "x", "TJ-CERT", "{}"};
                     EXPECT_TRUE(t.AppendAudit(e).ok());
                     return Denied("then the send was refused");
                   })
                   .get();
    EXPECT_EQ(s.code(), StatusCode::kDenied);
    Result<uint64_t> next = store->WriteValue<uint64_t>([](WriteTxn& t) {
      return t.AppendAudit(AuditEvent{2001, "node", "share", "y", "", "{}"});
    }).get();
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(*next, 6u);
  }
  EXPECT_EQ(*Verify(), 6u);
}

TEST_F(AuditTest, RejectsOversizedOrIncompleteEntries) {
  auto store = OpenOrDie(path_);
  AuditEvent big{1, "node", "x", "s", "", std::string(kMaxAuditDetailBytes + 1, 'a')};
  EXPECT_EQ(store->Write([big](WriteTxn& t) { return t.AppendAudit(big).status(); })
                .get()
                .code(),
            StatusCode::kInvalidInput);
  AuditEvent no_actor{1, "", "x", "s", "", "{}"};
  EXPECT_EQ(store
                ->Write([no_actor](WriteTxn& t) {
                  return t.AppendAudit(no_actor).status();
                })
                .get()
                .code(),
            StatusCode::kInvalidInput);
}

TEST_F(AuditTest, FilteredReads) {
  auto store = OpenOrDie(path_);
  auto reader = ReaderOrDie(*store);
  AuditFilter all;
  Result<AuditPage> read = reader->ReadAudit(all);
  ASSERT_TRUE(read.ok());
  const auto& entries = read->entries;
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_FALSE(read->more);
  EXPECT_EQ(entries[1].event.detail, R"({"n":2})");
  EXPECT_EQ(entries[1].prev_hash, entries[0].hash);

  AuditFilter by_peer;
  by_peer.peer = "KZ-CERT";
  EXPECT_EQ(reader->ReadAudit(by_peer)->entries.size(), 2u);
  AuditFilter by_actor;
  by_actor.actor = "uid:1000";
  EXPECT_EQ(reader->ReadAudit(by_actor)->entries.size(), 3u);
  AuditFilter since;
  since.since = 1004;
  EXPECT_EQ(reader->ReadAudit(since)->entries.size(), 2u);
  AuditFilter page;
  page.after = 2;
  page.limit = 2;
  ExpectPage(*reader, page, {3, 4}, /*more=*/true);
  // The page that ends the log exactly at its limit says so.
  page.after = 3;
  ExpectPage(*reader, page, {4, 5}, /*more=*/false);
}

TEST_F(AuditTest, PageEndsAtDetailByteBudget) {
  auto store = OpenOrDie(path_);
  auto reader = ReaderOrDie(*store);
  // Every detail is 7 bytes ({"n":1}): 15 bytes end the page on the 3rd.
  AuditFilter f;
  f.max_detail_bytes = 15;
  ExpectPage(*reader, f, {1, 2, 3}, /*more=*/true);
  // A budget smaller than one detail still returns that one entry.
  f.max_detail_bytes = 1;
  f.after = 3;
  ExpectPage(*reader, f, {4}, /*more=*/true);
  // The last entry fills the budget and ends the log: nothing more.
  f.after = 4;
  ExpectPage(*reader, f, {5}, /*more=*/false);
}

TEST_F(AuditTest, ChangedDetailIsReported) {
  RawExec(path_, "UPDATE audit SET detail = '{\"n\":99}' WHERE seq = 3");
  ExpectCorruptAt("audit entry 3 does not match its hash");
}

TEST_F(AuditTest, ChangedHashIsReported) {
  RawExec(path_, "UPDATE audit SET hash = zeroblob(32) WHERE seq = 2");
  ExpectCorruptAt("audit entry 2 ");
}

TEST_F(AuditTest, RemovedMiddleEntryIsReported) {
  RawExec(path_, "DELETE FROM audit WHERE seq = 3");
  ExpectCorruptAt("audit entry 3 is missing");
}

TEST_F(AuditTest, RemovedLastEntryIsReported) {
  RawExec(path_, "DELETE FROM audit WHERE seq = 5");
  ExpectCorruptAt("audit entry 5 is missing");
}

TEST_F(AuditTest, RenumberedTailIsReported) {
  // Remove entry 3 and renumber 4,5 -> 3,4: the chain of prev_hash breaks.
  RawExec(path_,
          "DELETE FROM audit WHERE seq = 3;"
          "UPDATE audit SET seq = seq - 1 WHERE seq > 3;");
  ExpectCorruptAt("audit entry 3 ");
}

}  // namespace
}  // namespace caravan::store
