#!/usr/bin/env bash
# Where a node's disk goes, per stored indicator (issue 17's "disk per
# indicator"): one caravand takes N indicators of the `scripts/bench
# --scale` mix (gen_mix.py, seed 17) through `caravan submit --file`, is
# stopped cleanly (the WAL checkpointed), and SQLite's dbstat gives the
# bytes of every table and index. A second node that catches up from the
# first over a link (reshare = "federation") is measured the same way, so
# the figure for a receiving node (accept audit entries, deliveries) is in
# the same run. Not part of the test suite.
#
# Usage: disk_breakdown.sh BUILD_DIR [N]   (N defaults to 50000)
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-50000}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
tmp=$(mktemp -d /tmp/cvd-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand"
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
cc() { case $1 in A) echo UZ;; B) echo KZ;; esac; }

/usr/bin/python3 "$here/gen_mix.py" "$n" 17 "$testdata" "$tmp/gen" 1 >/dev/null
init_node A UZ
init_node B KZ
for pair in "A KZ" "B UZ"; do
  set -- $pair
  {
    echo "applies_to = [\"$2\"]"
    echo "[outbound]"
    echo "share = true"
    echo "max_tlp = \"amber\""
    echo "reshare = \"federation\""
  } >"$tmp/$1/policies/$2.toml"
done
start A
t0=$(now)
cv A submit --file "$tmp/gen/chunk-0000.txt" --tlp green --json \
  >"$tmp/submit.json" 2>"$tmp/submit.err" || true
t1=$(now)
stored=$(count A)
start B
add A B 0
add B A
wait_count B "$stored"
stop A
stop B

breakdown() {  # NODE LABEL
  local db="$tmp/$1/caravan.db" held
  held=$(sqlite3 "$db" "SELECT count(*) FROM indicators")
  echo "== $2: $held indicators; node directory $(du -sb "$tmp/$1" | cut -f1) B," \
    "$(( $(du -sb "$tmp/$1" | cut -f1) / held )) B per indicator"
  sqlite3 "$db" "SELECT printf('%-32s %12d B %8.1f B/indicator', name, sum(pgsize),
      sum(pgsize) * 1.0 / $held) FROM dbstat GROUP BY name
      HAVING sum(pgsize) > 4096 ORDER BY sum(pgsize) DESC"
  sqlite3 "$db" "SELECT printf('%-32s %12d B %8.1f B/indicator', 'whole database',
      sum(pgsize), sum(pgsize) * 1.0 / $held) FROM dbstat"
}
echo "N = $n requested, $stored stored in $(/usr/bin/python3 -c "print(round($t1 - $t0, 2))") s" \
  "at the origin; load average $(cut -d' ' -f1-3 /proc/loadavg)"
breakdown A "origin (CERT-A, submitted)"
breakdown B "receiver (CERT-B, caught up over one link)"
