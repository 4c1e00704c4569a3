#include "daemon/store/index_levels.h"

#include <sodium.h>
#include <sqlite3.h>

#include <array>
#include <cstring>
#include <string>
#include <utility>

namespace caravan::store::internal {

LevelSql PerLevel(std::string_view before, std::string_view after) {
  LevelSql sql;
  for (size_t i = 0; i < sql.size(); ++i) {
    sql[i] = std::string(before) + kKeyLevels[i] + std::string(after);
  }
  return sql;
}

ShortKey IdKeyOf(const protocol::IndicatorId& id) {
  ShortKey key;
  std::memcpy(key.data(), id.data(), key.size());
  return key;
}

ShortKey ValueKey(std::string_view value) {
  uint8_t hash[crypto_generichash_BYTES_MIN];
  crypto_generichash(hash, sizeof hash,
                     reinterpret_cast<const uint8_t*>(value.data()),
                     value.size(), nullptr, 0);
  ShortKey key;
  std::memcpy(key.data(), hash, key.size());
  return key;
}

namespace {

void ValueKeySql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* text = sqlite3_value_text(argv[0]);
  if (text == nullptr) {
    sqlite3_result_null(ctx);
    return;
  }
  const ShortKey key = ValueKey(
      std::string_view(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  sqlite3_result_blob(ctx, key.data(), static_cast<int>(key.size()),
                      SQLITE_TRANSIENT);
}

}  // namespace

Status RegisterValueKeyFunction(Database& db) {
  const int rc = sqlite3_create_function(
      db.handle(), "caravan_value_key", 1,
      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, nullptr,
      ValueKeySql, nullptr, nullptr);
  return SqliteStatus(rc, db.handle(), "register caravan_value_key");
}

Result<std::vector<int64_t>> RidsWithIdKey(Database& db,
                                           const protocol::IndicatorId& id) {
  // Built once: the writer asks before every new row whose id the filter
  // may hold.
  static const LevelSql kSql =
      PerLevel("SELECT rid FROM id_keys", " WHERE k = ?");
  std::vector<int64_t> rids;
  for (const std::string& sql : kSql) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    st.BindBlob(1, id.data(), sizeof(ShortKey));
    for (;;) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      rids.push_back(st.Int(0));
    }
  }
  return rids;
}

std::string IdIs(std::string_view alias, std::string_view param) {
  const std::string key = "k = substr(" + std::string(param) + ", 1, 8)";
  return "(" + std::string(alias) + "rid IN (" +
         RidsAtAllLevels("id_keys", key) + ") AND " + std::string(alias) +
         "id = " + std::string(param) + ")";
}

std::string RidsAtAllLevels(std::string_view table, std::string_view where) {
  std::string sql;
  for (const char* level : kKeyLevels) {
    if (!sql.empty()) sql += " UNION ALL ";
    sql += "SELECT rid FROM ";
    sql += table;
    sql += level;
    sql += " WHERE ";
    sql += where;
  }
  return sql;
}

Status AddKeys(Database& db, int64_t rid, const protocol::IndicatorId& id,
               std::string_view value, const IpKey* ip) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement add_id,
                                 db.Prepare("INSERT INTO id_keys_0 (k, rid) "
                                            "VALUES (substr(?1, 1, 8), ?2)"));
  // Borrowed binds (Statement::BindBlobBorrowed): every key outlives the
  // statement that inserts it.
  add_id.BindBlobBorrowed(1, id);
  add_id.Bind(2, rid);
  CARAVAN_RETURN_IF_ERROR(add_id.Run());
  if (ip != nullptr) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement add_ip,
        db.Prepare("INSERT INTO ip_keys_0 (family, prefix, first, rid) "
                   "VALUES (?, ?, ?, ?)"));
    add_ip.Bind(1, ip->family);
    add_ip.Bind(2, ip->prefix);
    add_ip.BindBlobBorrowed(3, ip->first);
    add_ip.Bind(4, rid);
    return add_ip.Run();
  }
  const ShortKey value_key = ValueKey(value);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement add_value,
      db.Prepare("INSERT INTO value_keys_0 (k, rid) VALUES (?, ?)"));
  add_value.BindBlobBorrowed(1, value_key);
  add_value.Bind(2, rid);
  return add_value.Run();
}

namespace {

// Runs DELETE FROM <table>_N WHERE `where` at every level, binding the
// parameters with `bind` each time.
template <class BindFn>
Status DeleteAtAllLevels(Database& db, std::string_view table,
                         std::string_view where, const BindFn& bind) {
  for (const char* level : kKeyLevels) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement del, db.Prepare("DELETE FROM " + std::string(table) + level +
                                  " WHERE " + std::string(where)));
    bind(del);
    CARAVAN_RETURN_IF_ERROR(del.Run());
  }
  return Status::Ok();
}

}  // namespace

Status RemoveKeys(Database& db, int64_t rid, const protocol::IndicatorId& id,
                  std::string_view value, const IpKey* ip) {
  CARAVAN_RETURN_IF_ERROR(DeleteAtAllLevels(
      db, "id_keys", "k = substr(?1, 1, 8) AND rid = ?2", [&](Statement& st) {
        st.BindBlob(1, id);
        st.Bind(2, rid);
      }));
  if (ip != nullptr) {
    return DeleteAtAllLevels(
        db, "ip_keys",
        "family = ?1 AND prefix = ?2 AND first = ?3 AND rid = ?4",
        [&](Statement& st) {
          st.Bind(1, ip->family);
          st.Bind(2, ip->prefix);
          st.BindBlob(3, ip->first);
          st.Bind(4, rid);
        });
  }
  const ShortKey key = ValueKey(value);
  return DeleteAtAllLevels(db, "value_keys", "k = ?1 AND rid = ?2",
                           [&](Statement& st) {
                             st.BindBlob(1, key);
                             st.Bind(2, rid);
                           });
}

Status MergeLevel(Database& db, size_t from) {
  if (from + 1 >= kKeyLevels.size()) {
    return Internal("key level " + std::to_string(from) +
                    " has no level after it");
  }
  const std::string src = kKeyLevels[from];
  const std::string dst = kKeyLevels[from + 1];
  // Read in key order (each level is a WITHOUT ROWID b-tree on its key),
  // so the inserts walk the next level from its first page to its last.
  for (const auto& [table, columns] :
       {std::pair<const char*, const char*>{"id_keys", "k, rid"},
        {"value_keys", "k, rid"},
        {"ip_keys", "family, prefix, first, rid"}}) {
    const std::string t = table;
    const std::string c = columns;
    for (const std::string& sql :
         {"INSERT INTO " + t + dst + " (" + c + ") SELECT " + c + " FROM " + t +
              src + " ORDER BY " + c,
          "DELETE FROM " + t + src}) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
      CARAVAN_RETURN_IF_ERROR(st.Run());
    }
  }
  return Status::Ok();
}

Result<int64_t> LevelRows(Database& db, size_t level) {
  if (level >= kKeyLevels.size()) {
    return Internal("no key level " + std::to_string(level));
  }
  return db.QueryInt(std::string("SELECT count(*) FROM id_keys") +
                     kKeyLevels[level]);
}

}  // namespace caravan::store::internal
