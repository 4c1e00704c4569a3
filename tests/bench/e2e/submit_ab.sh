#!/usr/bin/env bash
# Bulk submit of two builds, alternating A, B, A, B, each round next to raw
# SQLite inserting the same rows in one transaction (raw_insert, the scale
# benchmark's baseline): N indicators of the scale mix through `caravan
# submit --file` into a fresh node, or, with PRELOAD=P, into a node that
# already holds P other indicators (loaded once by build A, copied for
# every run). Each build uses its own caravan and caravand, so a change to
# the CLI's requests is measured too. Prints one line per run.
# Not part of the test suite.
#
# Usage: submit_ab.sh BUILD_A BUILD_B [N] [ROUNDS]   (N 100000, ROUNDS 3)
set -euo pipefail
build=$(cd "$1" && pwd)
other=$(cd "$2" && pwd)
n=${3:-100000}
rounds=${4:-3}
preload=${PRELOAD:-0}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
tmp=$(mktemp -d /tmp/cvs-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand" "$raw_insert" "$other/daemon/caravand" \
  "$other/tools/caravan"
cleanup() { stop_all; rm -rf "$tmp"; }
py() { /usr/bin/python3 -c "print($1)"; }
trap cleanup EXIT

# One generation, split: the first chunk preloads, the second is submitted.
total=$((preload + n))
/usr/bin/python3 "$here/gen_mix.py" "$total" 17 "$testdata" "$tmp/gen" 1 >/dev/null
head -n "$preload" "$tmp/gen/chunk-0000.txt" >"$tmp/preload.txt"
tail -n +"$((preload + 1))" "$tmp/gen/chunk-0000.txt" >"$tmp/submit.txt"
init_node T UZ
if [ "$preload" -gt 0 ]; then
  start T
  cv T submit --file "$tmp/preload.txt" --tlp green --json >/dev/null 2>&1 || true
  stop T
fi
echo "N = $n into a node holding $preload; load average $(cut -d' ' -f1-3 /proc/loadavg)"
own_caravan=$caravan
own_caravand=$caravand
for r in $(seq 1 "$rounds"); do
  echo "round $r raw: $("$raw_insert" "$tmp/submit.txt" 61 0)"
  for side in A B; do
    caravan=$own_caravan caravand=$own_caravand
    if [ "$side" = B ]; then
      caravan="$other/tools/caravan" caravand="$other/daemon/caravand"
    fi
    rm -rf "${tmp:?}/$side"; cp -a "$tmp/T" "$tmp/$side"
    sed -i "s#$tmp/T#$tmp/$side#g" "$tmp/$side/caravand.toml"
    # Keys an older build does not know (their defaults apply anyway).
    sed -i "/^cache_mib = /d" "$tmp/$side/caravand.toml"
    start "$side"
    t0=$(now)
    summary=$(cv "$side" submit --file "$tmp/submit.txt" --tlp green --json 2>/dev/null) || true
    t1=$(now)
    stored=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["stored"])' "$summary")
    echo "round $r $side: stored $stored in $(py "round($t1-$t0,2)") s = $(py "round($stored/($t1-$t0))")/s"
    sleep 7  # past the writer's idle release (5 s): the idle RSS
    echo "round $r $side RSS idle after the submit: $(rss_kib "$side") KiB"
    stop "$side"
  done
done
