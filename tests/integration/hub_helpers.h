#pragma once
// Small views and set-up steps the hub-mode integration tests share
// (hub_test.cc, hub_compromise_test.cc, hub_direct_test.cc,
// member_compromise_test.cc).

#include <sqlite3.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {

// `peer`'s entry in `caravan peers list --json` at `n`, or null.
inline nlohmann::json ListedPeer(const FedNode& n, const std::string& peer) {
  nlohmann::json doc = n.CliJson({"peers", "list"});
  if (!doc.contains("peers")) return nullptr;
  for (const auto& p : doc["peers"]) {
    if (p["name"] == peer) return p;
  }
  return nullptr;
}

// `caravan init` writes [hub] with enabled = false: turns it on in `h`'s
// config (before `h` starts). False when the key is missing.
inline bool EnableHubIn(const FedNode& h) {
  const auto path = h.node().config();
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string s = text.str();
  const auto table = s.find("[hub]");
  if (table == std::string::npos) return false;
  const std::string from = "enabled = false";
  const auto at = s.find(from, table);
  if (at == std::string::npos) return false;
  s.replace(at, from.size(), "enabled = true");
  std::ofstream(path, std::ios::trunc) << s;
  return true;
}

// Rows of table pending_notices in `n`'s store, read-only (WAL lets a
// test read while the node runs); -1 on error.
inline int64_t PendingNoticeRows(const FedNode& n) {
  sqlite3* db = nullptr;
  int64_t rows = -1;
  if (sqlite3_open_v2(n.node().database().c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pending_notices", -1, &st,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      rows = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return rows;
}

}  // namespace caravan::integration
