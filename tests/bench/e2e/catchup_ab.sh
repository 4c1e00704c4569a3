#!/usr/bin/env bash
# One-link catch-up of two builds, alternating A, B, A, B: a sender holding
# N indicators of the scale mix (loaded once by build A and copied for every
# run) and a fresh receiver, both daemons of the build under test; the
# clock stops when the sender's acked_seq for the receiver reaches its log
# end (as scale_bench.sh). With WINDOW="FROM TO" only the stretch between
# those acked counts is timed and the run stops there (a large store's
# middle without waiting for its end). Prints one line per run: records/s,
# the CPU of each daemon per record, and the size of the sender's
# deliveries table (dbstat) after a whole run.
# Not part of the test suite. docs/performance.md ("Levers after 38a8d90").
#
# Usage: catchup_ab.sh BUILD_A BUILD_B [N] [ROUNDS]   (N 1000000, ROUNDS 2)
# BUILD_A writes the sender's store: when the two builds' store schemas
# differ, BUILD_A must be the older (the newer migrates its copy; the
# older refuses a newer store).
# Environment: WINDOW="FROM TO", RESHARE (federation, the default, or none),
# PRELOAD_B (LD_PRELOAD for build B's daemons only: with the same build as
# A and B, an allocator A/B, e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2)
set -euo pipefail
build=$(cd "$1" && pwd)
other=$(cd "$2" && pwd)
n=${3:-1000000}
rounds=${4:-2}
reshare=${RESHARE:-federation}
read -r win_from win_to <<<"${WINDOW:-0 0}"
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
tmp=$(mktemp -d /tmp/cvs-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand" "$other/daemon/caravand" "$other/tools/caravan"
cleanup() { stop_all; rm -rf "$tmp"; }
py() { /usr/bin/python3 -c "print($1)"; }
cc() { case $1 in S) echo UZ;; *) echo KZ;; esac; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # PID: ticks used

/usr/bin/python3 "$here/gen_mix.py" "$n" 17 "$testdata" "$tmp/gen" 1 >/dev/null
init_node S UZ
{
  echo 'applies_to = ["KZ"]'
  echo '[outbound]'
  echo 'share = true'
  echo 'max_tlp = "amber"'
  [ "$reshare" = none ] || echo "reshare = \"$reshare\""
} >"$tmp/S/policies/kz.toml"
start S
cv S submit --file "$tmp/gen/chunk-0000.txt" --tlp green --json >/dev/null 2>&1 || true
stop S
mv "$tmp/S" "$tmp/T"  # the template: every run starts from a copy
rm -rf "$tmp/gen"
echo "N = $n, reshare $reshare, window ${WINDOW:-whole}${PRELOAD_B:+, B preloads $PRELOAD_B}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
own_caravan=$caravan
own_caravand=$caravand
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    caravan=$own_caravan caravand=$own_caravand
    if [ "$side" = B ]; then
      caravan="$other/tools/caravan" caravand="$other/daemon/caravand"
    fi
    rm -rf "${tmp:?}/S" "$tmp/R"
    cp -a "$tmp/T" "$tmp/S"  # relative paths: the copy is the same node
    init_node R KZ
    if [ "$side" = B ] && [ -n "${PRELOAD_B:-}" ]; then export LD_PRELOAD=$PRELOAD_B; fi
    start S
    start R
    unset LD_PRELOAD
    target=$(log_seq S)
    add R S
    t0=$(now)
    add S R
    t_from=$t0; c_from_s=$(cpu "${pid[S]}"); c_from_r=$(cpu "${pid[R]}"); from=0
    last=0; t_last=$t0; since=$SECONDS
    while :; do
      a=$(acked S R)
      if [ "$a" -gt "$last" ]; then last=$a; t_last=$(now); since=$SECONDS; fi
      if [ "$win_from" -gt 0 ] && [ "$from" = 0 ] && [ "$a" -ge "$win_from" ]; then
        from=$a; t_from=$(now); c_from_s=$(cpu "${pid[S]}"); c_from_r=$(cpu "${pid[R]}")
      fi
      [ "$win_to" -gt 0 ] && [ "$from" != 0 ] && [ "$a" -ge "$win_to" ] && break
      [ "$a" -ge "$target" ] && break
      [ $((SECONDS - since)) -ge 30 ] && break
      sleep 0.2
    done
    c_s=$(cpu "${pid[S]}"); c_r=$(cpu "${pid[R]}")
    moved=$((last - from))
    stalled=""
    if [ "$last" -lt "$target" ] && { [ "$win_to" = 0 ] || [ "$last" -lt "$win_to" ]; }; then
      stalled="STALLED (no progress for 30 s) "
    fi
    line="round $r $side: ${stalled}acked $from..$last of $target in $(py "round($t_last-$t_from,2)") s = $(py "round($moved/($t_last-$t_from))")/s; receiver $(py "round(($c_r-$c_from_r)*1e6/$hz/max(1,$moved),1)") us/record, sender $(py "round(($c_s-$c_from_s)*1e6/$hz/max(1,$moved),1)") us/record"
    stop S
    stop R
    if [ "$win_to" = 0 ]; then
      line+="; sender deliveries $(/usr/bin/python3 -c 'import sqlite3,sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE ?", ("%deliveries%",)).fetchone()[0])' "$tmp/S/caravan.db") bytes"
    fi
    echo "$line"
  done
done
