#pragma once
// Private to daemon/store: how an indicator is found by its id, its value
// or its address (schema.md, "Leveled key tables"; migrations 21, 22).
//
// Not through indexes on the indicators table: at 10M stored, each such
// index is far larger than a commit's rows, and a row inserted at a
// random place of it dirtied about one index page per row per commit
// (docs/performance.md, "What SQLite allows at 10M"). Instead each kind of
// key has three tables, levels 0, 1 and 2, keyed by (key..., rid):
//
//   id_keys_N     the first 8 bytes of the id (ids are hashes: uniform)
//   value_keys_N  ValueKey(value), for every type but ipv4 and ipv6
//   ip_keys_N     (family, prefix, first) of addresses and networks
//
// A new row's keys go to level 0, which stays small, so a commit dirties
// few of its pages. When level 0 holds enough rows (StoreOptions::
// level0_merge_rows; the store's writer counts them), MergeLevel moves it
// into level 1 in key order: one pass over the level-1 pages the keys
// land on. Level 1 is merged into level 2 the same way once it holds
// StoreOptions::level1_merge_rows. A merge rewrites about every page of
// the level it lands in, so with two levels each merge at 10M stored
// rewrote the whole big level (a quarter of a 10M catch-up's receiver
// time); the middle level makes that happen once per level1_merge_rows
// new rows instead of once per level0_merge_rows. An 8-byte key names a
// row, not an indicator: a look-up takes every rid the key names at every
// level and compares the row's own id or value, so a collision costs a
// row read, never a wrong answer.
//
// Every key of a row is at exactly one level at every commit (a merge is
// one transaction), so a reader's snapshot sees each row once.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/store/ip_key.h"
#include "daemon/store/sqlite_db.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::store::internal {

using ShortKey = std::array<uint8_t, 8>;

// The key levels, newest first: table names end in these.
inline constexpr std::array<const char*, 3> kKeyLevels = {"_0", "_1", "_2"};

// before + level + after for each level ("_0", ...): one statement's text
// per level, e.g. PerLevel("SELECT rid FROM id_keys", " WHERE k = ?").
using LevelSql = std::array<std::string, kKeyLevels.size()>;
LevelSql PerLevel(std::string_view before, std::string_view after);

// The id key: the id's first 8 bytes.
ShortKey IdKeyOf(const protocol::IndicatorId& id);

// The value key: the first 8 bytes of BLAKE2b-128 of the value's bytes.
// Persisted (migration 21 computes it in SQL as caravan_value_key()), so
// it never changes.
ShortKey ValueKey(std::string_view value);

// Registers caravan_value_key(text) -> ValueKey on a connection (migration
// 21 fills its big level in one INSERT ... SELECT with it).
Status RegisterValueKeyFunction(Database& db);

// The rids whose id key is that of `id`, at every level: usually none or
// one; the caller compares each row's whole id. One index search a level
// and no temporary table, where IdIs's IN (...) builds one: for the
// writer's look-up before every new row.
Result<std::vector<int64_t>> RidsWithIdKey(Database& db,
                                           const protocol::IndicatorId& id);

// SQL true for the indicators row (columns qualified by `alias`, e.g. "i."
// or "") whose id is bound to parameter `param` (e.g. "?1"): found
// through every id level, the whole id compared.
std::string IdIs(std::string_view alias, std::string_view param);

// "SELECT rid FROM <table>_0 WHERE <where> UNION ALL SELECT rid FROM
// <table>_1 WHERE <where> UNION ALL ...": the rids of every level. A
// `where` with `?` parameters needs its values bound once per level.
std::string RidsAtAllLevels(std::string_view table, std::string_view where);

// Adds a new row's keys to level 0: its id, and its value (ip == nullptr)
// or its address.
Status AddKeys(Database& db, int64_t rid, const protocol::IndicatorId& id,
               std::string_view value, const IpKey* ip);

// Removes a row's keys, at whichever level they are.
Status RemoveKeys(Database& db, int64_t rid, const protocol::IndicatorId& id,
                  std::string_view value, const IpKey* ip);

// Moves every key at level `from` (0 or 1) to the next level, in key
// order; within the caller's transaction.
Status MergeLevel(Database& db, size_t from);

// Rows with keys at `level` (one id key each).
Result<int64_t> LevelRows(Database& db, size_t level);

}  // namespace caravan::store::internal
