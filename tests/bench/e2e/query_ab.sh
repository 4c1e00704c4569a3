#!/usr/bin/env bash
# Exact, CIDR /24 and dense-/24 query latency (query_latency over the
# control socket, what `caravan query` sends) of two caravand builds on the
# same store, in the same run, alternating A, B, A, B: a change to the
# query path is then judged against its baseline on the same machine
# state. The store is loaded once (N indicators of the scale mix, by
# build A's caravan) and copied, so each build opens its own copy: a
# build with a newer schema migrates its copy on its first start, and the
# other still opens its own.
# Not part of the test suite.
#
# Usage: query_ab.sh BUILD_A BUILD_B [N] [ROUNDS]   (N 400000, ROUNDS 2)
set -euo pipefail
build=$(cd "$1" && pwd)
other=$(cd "$2" && pwd)
n=${3:-400000}
rounds=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
tmp=$(mktemp -d /tmp/cvq-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand" "$query_latency" "$other/daemon/caravand"
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT

/usr/bin/python3 "$here/gen_mix.py" "$n" 17 "$testdata" "$tmp/gen" 1 >/dev/null
init_node A UZ
start A
cv A submit --file "$tmp/gen/chunk-0000.txt" --tlp green --json >/dev/null 2>&1 || true
echo "N = $n requested, $(count A) stored; load average $(cut -d' ' -f1-3 /proc/loadavg)"
stop A
cp -a "$tmp/A" "$tmp/B"
sed -i "s#$tmp/A#$tmp/B#g" "$tmp/B/caravand.toml"
cat "$tmp"/gen/sample-*.txt >"$tmp/q.txt"
own=$caravand
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    caravand=$own; [ "$side" = B ] && caravand="$other/daemon/caravand"
    start "$side"
    "$query_latency" "$tmp/$side/caravand.sock" "$tmp/q.txt" 200 exact >/dev/null  # warm
    echo "round $r $side exact: $("$query_latency" "$tmp/$side/caravand.sock" "$tmp/q.txt" 5000 exact)"
    echo "round $r $side cidr24: $("$query_latency" "$tmp/$side/caravand.sock" "$tmp/q.txt" 2000 cidr24)"
    echo "round $r $side cidr24dense: $("$query_latency" "$tmp/$side/caravand.sock" "$testdata/ipv4.txt" 2000 cidr24dense)"
    sleep 5  # as scale_bench.sh before its idle-RSS reading
    echo "round $r $side RSS after the queries: $(rss_kib "$side") KiB"
    stop "$side"
  done
done
