#!/usr/bin/env bash
# How raw SQLite's insert rate falls as the table grows, for a few store
# shapes: rows per transaction, page cache, page size. Each case inserts
# the same N rows of the scale mix with raw_insert (the store's schema and
# indexes, BLAKE2b ids, synchronous=FULL, a mapped file and a checkpoint
# every 40 MiB of WAL like the daemon's writer) and prints the rate of the
# first and of the last tenth, and their ratio: the ratio bulk submit is
# held to at N (issue 17, "at 10M >= 0.5 x the rate on an empty store").
# One case at a time, in the order below; compare ratios, not absolutes.
# Not part of the test suite. docs/performance.md ("What SQLite allows").
#
# Usage: raw_scaling.sh BUILD [N]   (N 3000000; 10M takes ~40 min)
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-3000000}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
raw="$build/tests/bench/raw_insert"
[ -x "$raw" ] || { echo "raw_scaling.sh: $raw not built" >&2; exit 1; }
tmp=$(mktemp -d /tmp/cvr-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/gen_mix.py" "$n" 17 "$testdata" "$tmp/gen" 1 >/dev/null
values="$tmp/gen/chunk-0000.txt"
step=$(( n / 10 ))
record_bytes=61  # the Result run's mean record columns (docs/performance.md)

echo "rows=$n step=$step record_bytes=$record_bytes commit=$(git -C "$here" rev-parse --short HEAD) load=$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %12s %12s %7s %9s\n' "case" "first /s" "last /s" "ratio" "seconds"
# case label | rows per transaction | cache MiB | page size
while IFS='|' read -r label batch cache page; do
  out=$(RAW_CACHE_MIB=$cache RAW_PAGE_SIZE=$page RAW_MMAP_MIB=2047 \
        RAW_CHECKPOINT_MIB=40 RAW_STEP_ROWS=$step \
        "$raw" "$values" "$record_bytes" "$batch")
  first=$(grep -m1 '^raw_insert step' <<<"$out" | sed 's/.*rate=//')
  last=$(grep '^raw_insert step' <<<"$out" | tail -1 | sed 's/.*rate=//')
  secs=$(grep '^raw_insert rows' <<<"$out" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
  printf '%-34s %12s %12s %7s %9s\n' "$label" "$first" "$last" \
    "$(/usr/bin/python3 -c "print(f'{$last/$first:.2f}')")" "$secs"
done <<'CASES'
10k rows/txn, 64 MiB cache|10000|64|4096
10k rows/txn, 1 GiB cache|10000|1024|4096
100k rows/txn, 64 MiB cache|100000|64|4096
100k rows/txn, 1 GiB cache|100000|1024|4096
10k rows/txn, 64 MiB, 1 KiB pages|10000|64|1024
CASES
