// What a bulk submit leaves in the store (daemon/store/record_forms.h): the
// submitter signs a seeded batch and hands the seed over, so no record
// keeps a salt; the batch ends complete with no path kept; and every
// record reads back as a signed record that verifies. (That the leaf
// hashes handed over spare the store writing paths it then deletes is
// not visible in the end state; RecordForms.ABatchWhoseLeafHashesComeAlong
// IsCompleteAtOnce checks the store's side.)

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/node/submitter.h"
#include "daemon/store/store.h"
#include "daemon/sync/record_signing.h"
#include "protocol/record_codec.h"

namespace caravan::daemon {
namespace {

int64_t Count(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

TEST(SubmitterStore, ABulkSubmitStoresItsBatchCompleteWithoutPathsOrSalts) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("caravan-submit-store-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "store.db").string();
  auto identity = crypto::IdentityKey::Generate();
  protocol::NodeConfig config;
  config.node.name = "CERT-UZ";
  config.node.country = "UZ";
  {
    auto store = store::Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store::ReaderPool readers(**store);
    Submitter submitter(**store, readers, *identity, config);
    std::vector<SubmissionInput> inputs;
    for (int i = 0; i < 40; ++i) {
      SubmissionInput in;
      in.value = "198.51.100." + std::to_string(i);
      in.line = static_cast<uint64_t>(i + 1);
      inputs.push_back(in);
    }
    for (const auto& out : submitter.Submit(inputs, "uid:0")) {
      ASSERT_TRUE(out.error.ok()) << out.error.ToString();
    }
    auto reader = (*store)->OpenReader();
    ASSERT_TRUE(reader.ok());
    auto log = (*reader)->LogRange(0, 100);
    ASSERT_TRUE(log.ok());
    ASSERT_EQ(log->size(), 40u);
    for (const auto& rec : *log) {
      auto decoded = protocol::DecodeSignedRecord(rec.signed_bytes);
      ASSERT_TRUE(decoded.ok());
      EXPECT_TRUE(VerifySignedRecord(*decoded, identity->public_key()))
          << "log entry " << rec.seq;
    }
  }
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches"), 1);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM batches WHERE complete = 1 "
                        "AND salt_seed IS NOT NULL"),
            1);
  EXPECT_EQ(Count(path, "SELECT sum(length(hashes)) FROM batch_leaves"),
            40 * 32);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM record_paths"), 0);
  EXPECT_EQ(Count(path, "SELECT count(*) FROM records WHERE salt IS NOT NULL "
                        "OR raw IS NOT NULL"),
            0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace caravan::daemon
