#pragma once
// Helpers shared by the store tests: a temporary directory, a fake clock,
// and records built from a few fields.

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/store/store.h"
#include "gtest/gtest.h"

namespace caravan::store::testing {

// Runs `sql` on the database file at `path` behind the store's back (to
// tamper with it or fake another version); fails the test on error.
inline void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "caravan-store-XXXXXX")
            .string();
    if (!mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> now =
      std::make_shared<std::atomic<int64_t>>(1'700'000'000);
  std::function<int64_t()> Fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
};

inline PublicKey KeyOf(uint8_t b) {
  PublicKey k{};
  k.fill(b);
  return k;
}

// id = BLAKE2b-256(origin || type || value), like the real one.
inline IndicatorId IdOf(const PublicKey& origin, protocol::IndicatorType type,
                        const std::string& value) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, origin.data(), origin.size());
  uint8_t t = static_cast<uint8_t>(type);
  crypto_generichash_update(&st, &t, 1);
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(value.data()), value.size());
  IndicatorId id;
  crypto_generichash_final(&st, id.data(), id.size());
  return id;
}

inline RecordRow MakeRow(protocol::IndicatorType type, const std::string& value,
                         uint32_t revision = 1, uint8_t origin_byte = 1,
                         const std::string& country = "UZ") {
  RecordRow r;
  r.body.origin = KeyOf(origin_byte);
  r.body.origin_seq = revision;
  r.body.revision = revision;
  r.body.created = 1'600'000'000 + revision;
  r.body.indicator.type = type;
  r.body.indicator.value = value;
  r.body.indicator.tags = {"phishing"};
  r.id = IdOf(r.body.origin, type, value);
  r.signed_bytes = {1, 2, 3, static_cast<uint8_t>(revision)};
  r.origin_country = country;
  r.origin_name = country + "-CERT";
  return r;
}

// The seed of a randomized model test: `fallback` (what CI runs) unless
// the environment variable `name` gives another, to replay a failure or
// explore (a long run: a shell loop over seeds).
inline uint32_t SeedFromEnv(const char* name, uint32_t fallback) {
  const char* text = std::getenv(name);
  return text ? static_cast<uint32_t>(std::strtoul(text, nullptr, 10))
              : fallback;
}

inline std::unique_ptr<Store> OpenOrDie(const std::string& path,
                                        StoreOptions options = {}) {
  Result<std::unique_ptr<Store>> s = Store::Open(path, std::move(options));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) std::abort();
  return std::move(s).value();
}

inline std::unique_ptr<Reader> ReaderOrDie(Store& store) {
  Result<std::unique_ptr<Reader>> r = store.OpenReader();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

// Inserts one record in its own write and returns the outcome.
inline Result<InsertOutcome> Insert(Store& store, const RecordRow& row) {
  return store
      .WriteValue<InsertOutcome>(
          [row](WriteTxn& txn) { return txn.InsertRecord(row); })
      .get();
}

}  // namespace caravan::store::testing
