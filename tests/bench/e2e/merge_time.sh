#!/usr/bin/env bash
# How long the store's writer pauses to merge its key levels
# (daemon/store/index_levels.h) on a store of a given size: copies STORE_DB
# (a caravan store at schema 21 or later, the daemon stopped), puts ROWS
# random keys at level 0 in the store's own split of value and address
# keys, then times the store's merge statements (internal::MergeLevels)
# with the sqlite3 shell: synchronous FULL, a 64 MiB cache and a mapped
# file like the writer. Prints each statement's time and the total.
# Not part of the test suite. docs/performance.md ("Leveled keys").
#
# Usage: merge_time.sh STORE_DB [ROWS]   (ROWS 200000, the merge bound)
set -euo pipefail
src=$1
rows=${2:-200000}
command -v sqlite3 >/dev/null || { echo "merge_time.sh: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
tmp=$(mktemp -d "$(dirname "$src")/merge-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$src" "$tmp/m.db"
db="$tmp/m.db"
split=$(sqlite3 "$db" "SELECT (SELECT count(*) FROM value_keys_0) + (SELECT count(*) FROM value_keys_1), (SELECT count(*) FROM ip_keys_0) + (SELECT count(*) FROM ip_keys_1), (SELECT max(rid) FROM indicators)")
IFS='|' read -r values addresses max_rid <<<"$split"
value_rows=$(( rows * values / (values + addresses > 0 ? values + addresses : 1) ))
echo "store: $values value keys, $addresses address keys; level 0: $rows rows ($value_rows value keys)"
sqlite3 "$db" <<SQL | grep -E "^Run Time" | awk '{print; t += $4} END {printf "total %.3f s\n", t}'
PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
PRAGMA cache_size=-65536; PRAGMA mmap_size=2146435072;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $rows)
  INSERT INTO id_keys_0 SELECT randomblob(8), $max_rid + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $value_rows)
  INSERT INTO value_keys_0 SELECT randomblob(8), $max_rid + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $rows - $value_rows)
  INSERT INTO ip_keys_0 SELECT 4, 32, randomblob(16), $max_rid + $value_rows + i FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
.timer on
BEGIN IMMEDIATE;
INSERT INTO id_keys_1 (k, rid) SELECT k, rid FROM id_keys_0 ORDER BY k, rid;
DELETE FROM id_keys_0;
INSERT INTO value_keys_1 (k, rid) SELECT k, rid FROM value_keys_0 ORDER BY k, rid;
DELETE FROM value_keys_0;
INSERT INTO ip_keys_1 (family, prefix, first, rid) SELECT family, prefix, first, rid FROM ip_keys_0 ORDER BY family, prefix, first, rid;
DELETE FROM ip_keys_0;
COMMIT;
SQL
