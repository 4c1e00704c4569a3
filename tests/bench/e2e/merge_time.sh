#!/usr/bin/env bash
# How long the store's writer pauses to merge its key levels
# (daemon/store/index_levels.h) on a store of a given size: copies STORE_DB
# (a caravan store at schema 21 or later, the daemon stopped), puts ROWS
# random keys at the level below TO in the store's own split of value and
# address keys, then times the store's merge statements
# (internal::MergeLevel) into level TO with the sqlite3 shell: synchronous
# FULL, a 64 MiB cache and a mapped file like the writer. Prints each
# statement's time and the total. Not part of the test suite.
# docs/performance.md ("Leveled keys", "A middle key level").
#
# Usage: merge_time.sh STORE_DB [ROWS] [TO]
#   ROWS  200000 (StoreOptions::level0_merge_rows); 1600000 for the merge
#         of level 1 into level 2 (level1_merge_rows)
#   TO    the level merged into: by default the store's last (2 from schema
#         22 on, 1 at schema 21), where a merge costs the most
set -euo pipefail
src=$1
rows=${2:-200000}
to=${3:-}
command -v sqlite3 >/dev/null || { echo "merge_time.sh: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
tmp=$(mktemp -d "$(dirname "$src")/merge-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$src" "$tmp/m.db"
db="$tmp/m.db"
last=$(sqlite3 "$db" "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'id_keys_2') THEN 2 ELSE 1 END")
to=${to:-$last}
if [ "$to" -lt 1 ] || [ "$to" -gt "$last" ]; then echo "merge_time.sh: TO must be 1..$last" >&2; exit 2; fi
from=$((to - 1))
sum() { local t=$1 q="" l; for l in $(seq 0 "$last"); do q="$q${q:+ + }(SELECT count(*) FROM ${t}_$l)"; done; echo "$q"; }
split=$(sqlite3 "$db" "SELECT $(sum value_keys), $(sum ip_keys), (SELECT max(rid) FROM indicators)")
IFS='|' read -r values addresses max_rid <<<"$split"
value_rows=$(( rows * values / (values + addresses > 0 ? values + addresses : 1) ))
echo "store: $values value keys, $addresses address keys; level $from: $rows rows ($value_rows value keys), merged into level $to"
sqlite3 "$db" <<SQL | grep -E "^Run Time" | awk '{print; t += $4} END {printf "total %.3f s\n", t}'
PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
PRAGMA cache_size=-65536; PRAGMA mmap_size=2146435072;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $rows)
  INSERT INTO id_keys_$from SELECT randomblob(8), $max_rid + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $value_rows)
  INSERT INTO value_keys_$from SELECT randomblob(8), $max_rid + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $rows - $value_rows)
  INSERT INTO ip_keys_$from SELECT 4, 32, randomblob(16), $max_rid + $value_rows + i FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
.timer on
BEGIN IMMEDIATE;
INSERT INTO id_keys_$to (k, rid) SELECT k, rid FROM id_keys_$from ORDER BY k, rid;
DELETE FROM id_keys_$from;
INSERT INTO value_keys_$to (k, rid) SELECT k, rid FROM value_keys_$from ORDER BY k, rid;
DELETE FROM value_keys_$from;
INSERT INTO ip_keys_$to (family, prefix, first, rid) SELECT family, prefix, first, rid FROM ip_keys_$from ORDER BY family, prefix, first, rid;
DELETE FROM ip_keys_$from;
COMMIT;
SQL
