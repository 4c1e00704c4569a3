#!/usr/bin/env bash
# The national-scale benchmark of issue 17, run by `scripts/bench --scale N`
# (not part of ctest). Every figure is printed next to a baseline measured
# in the same run on the same machine, since the machine is shared and
# noisy: read the ratios, not the absolute numbers.
#
#   1. CERT-A (UZ) bulk loads N reproducible indicators (gen_mix.py: real
#      ones of ../shared/testdata/real mixed with synthetic ones) through
#      `caravan submit --file`, in CHUNKS steps; after each step the submit
#      rate of that step and the exact / CIDR /24 query p99 over the control
#      socket (query_latency) go into scale.csv. Baseline: raw SQLite
#      (raw_insert) inserting the first step's rows in one transaction.
#   2. idle RSS at N (baseline: the same daemon idle on its empty store);
#      disk per indicator after a clean shutdown (checkpointed): everything
#      in the node's directory / indicators.
#   3. one-link catch-up, verified and committed: CERT-B (KZ, A's policy for
#      KZ has reshare = "federation") and CERT-C (KG, A's policy for KG has
#      no reshare key) each link to A and fetch all N; from A's `peers add`
#      until the receiver holds them. Baselines: single-core Ed25519 verify
#      (crypto_bench) and raw SQLite inserting the N rows 1000 per
#      transaction.
#   4. submit -> queryable at B, one hop, p50/p99 over SAMPLES submits.
#   5. bytes on the wire per IPv4 record: CERT-D (TJ) loads WIRE_N IPv4
#      values; B and C catch up from it; their link byte counters / records.
#   6. TAXII paging (taxii_bench.sh, limit 1000 with `next`).
# Then scale_report.py prints the table (markdown, paste it into
# docs/performance.md) and gnuplot draws OUT/scale.png from OUT/scale.csv.
#
# Usage: scale_bench.sh BUILD_DIR OUT_DIR N [SEED]
# Environment: BENCH_CHUNKS (20), BENCH_SAMPLES (200), BENCH_WIRE_N
# (min(N, 100000)), BENCH_TAXII_N (min(N, 100000)).
set -euo pipefail
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
n=$3
seed=${4:-17}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
chunks=${BENCH_CHUNKS:-20}
samples=${BENCH_SAMPLES:-200}
wire_n=${BENCH_WIRE_N:-$((n < 100000 ? n : 100000))}
taxii_n=${BENCH_TAXII_N:-$((n < 100000 ? n : 100000))}
[ "$chunks" -le "$n" ] || chunks=1

tmp=$(mktemp -d /tmp/cvs-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand" "$raw_insert" "$query_latency" "$crypto_bench"
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
cc() { case $1 in A) echo UZ;; B) echo KZ;; C) echo KG;; D) echo TJ;; esac; }
results="$out/results.env"
: >"$results"
put() { echo "$1=$2" >>"$results"; echo "  $1 = $2"; }
py() { /usr/bin/python3 -c "print($1)"; }
field() {  # KEY LINE: the value of KEY=... in a bench tool's output line
  sed -n "s/.*[ ^]$1=\([0-9.]*\).*/\1/p" <<<" $2"
}
# TARGET PROBE [ARGS]: runs PROBE ARGS every 0.2 s until the number it
# prints reaches TARGET, or has not grown for 30 s (records a policy holds
# back never arrive); prints "LAST TIME" with the time it last grew.
wait_progress() {
  local target=$1; shift
  local last=-1 since=$SECONDS t_last c
  t_last=$(now)
  while :; do
    c=$("$@") || return 1
    if [ "$c" -gt "$last" ]; then last=$c; t_last=$(now); since=$SECONDS; fi
    [ "$c" -ge "$target" ] && break
    [ $((SECONDS - since)) -ge 30 ] && break
    sleep 0.2
  done
  echo "$last $t_last"
}
policy() {  # NODE FILE COUNTRY [RESHARE]: an outbound scope sharing all with COUNTRY
  {
    echo "applies_to = [\"$3\"]"
    echo "[outbound]"
    echo "share = true"
    echo "max_tlp = \"amber\""
    if [ -n "${4:-}" ]; then echo "reshare = \"$4\""; fi
  } >"$tmp/$1/policies/$2"
}

echo "== scale benchmark: N=$n seed=$seed chunks=$chunks commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
put scale "$n"
put seed "$seed"
put commit "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
put date "$(date -u +%Y-%m-%dT%H:%MZ)"
put nproc "$(nproc)"
put load_start "$(cut -d' ' -f1-3 /proc/loadavg)"

for x in A B C D; do init_node "$x" "$(cc "$x")"; done
for x in A D; do
  policy "$x" kz.toml KZ federation
  policy "$x" kg.toml KG
done

echo "== generating $n indicators (seed $seed) and $wire_n IPv4 for the wire test"
/usr/bin/python3 "$here/gen_mix.py" "$n" "$seed" "$testdata" "$tmp/gen" "$chunks"
/usr/bin/python3 "$here/gen_mix.py" "$wire_n" "$seed" "$testdata" "$tmp/gen4" 1 --ipv4-only

echo "== 1. bulk submit in $chunks steps, queries after each (scale.csv)"
start A
sleep 3
put rss_empty_kib "$(rss_kib A)"
csv="$out/scale.csv"
echo "stored,submit_rate,exact_p50_us,exact_p99_us,cidr_p50_us,cidr_p99_us" >"$csv"
: >"$tmp/queries.txt"
for f in "$tmp"/gen/chunk-*.txt; do
  c=$(basename "$f" .txt); c=${c#chunk-}
  t0=$(now)
  # A rejected line (a real value the daemon refuses) makes submit exit
  # non-zero; the summary still counts what was stored.
  summary=$(cv A submit --file "$f" --tlp green --json 2>>"$tmp/submit.err") || true
  t1=$(now)
  stored=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["stored"])' "$summary")
  rate=$(py "round($stored/($t1-$t0))")
  cat "$tmp/gen/sample-$c.txt" >>"$tmp/queries.txt"
  ex=$("$query_latency" "$tmp/A/caravand.sock" "$tmp/queries.txt" 2000 exact)
  ci=$("$query_latency" "$tmp/A/caravand.sock" "$tmp/queries.txt" 1000 cidr24)
  total=$(count A)
  echo "$total,$rate,$(field p50_us "$ex"),$(field p99_us "$ex"),$(field p50_us "$ci"),$(field p99_us "$ci")" >>"$csv"
  echo "  step $c: +$stored in $(py "round($t1-$t0,1)") s = $rate/s; holds $total; exact p99 $(field p99_us "$ex") us, /24 p99 $(field p99_us "$ci") us"
done
stored_n=$(count A)
put stored "$stored_n"
put submit_rate_empty "$(sed -n 2p "$csv" | cut -d, -f2)"
put submit_rate_at_n "$(tail -1 "$csv" | cut -d, -f2)"
put rejected_lines "$(grep -c . "$tmp/submit.err" || true)"
head -5 "$tmp/submit.err"

echo "== 2. queries at N (idle), idle RSS, disk"
ex=$("$query_latency" "$tmp/A/caravand.sock" "$tmp/queries.txt" 20000 exact)
ci=$("$query_latency" "$tmp/A/caravand.sock" "$tmp/queries.txt" 5000 cidr24)
# The /24s of the real blocklists that hold 64 values or more: what a
# dense network costs, whatever share of the mix the real data has at N.
cd24=$("$query_latency" "$tmp/A/caravand.sock" "$testdata/ipv4.txt" 2000 cidr24dense) || cd24=""
echo "  $ex"; echo "  $ci"; echo "  $cd24"
put exact_p50_us "$(field p50_us "$ex")"
put exact_p99_us "$(field p99_us "$ex")"
put exact_found "$(field found "$ex")/$(field n "$ex")"
put cidr_p50_us "$(field p50_us "$ci")"
put cidr_p99_us "$(field p99_us "$ci")"
if [ -n "$cd24" ]; then
  put cidr_dense_p50_us "$(field p50_us "$cd24")"
  put cidr_dense_p99_us "$(field p99_us "$cd24")"
  put cidr_dense_networks "$(/usr/bin/python3 - "$testdata/ipv4.txt" <<'PY'
import collections, sys
n = collections.Counter()
for line in open(sys.argv[1]):
    p = line.strip().split(".")
    if len(p) == 4 and all(x.isdigit() for x in p):
        n[".".join(p[:3])] += 1
print(sum(1 for c in n.values() if c >= 64))
PY
)"
fi
put exact_p99_us_first "$(sed -n 2p "$csv" | cut -d, -f4)"
put cidr_p99_us_first "$(sed -n 2p "$csv" | cut -d, -f6)"
sleep 5
put rss_idle_kib "$(rss_kib A)"
stop A
put disk_bytes "$(du -sb "$tmp/A" | cut -f1)"
put db_bytes "$(stat -c %s "$tmp/A/caravan.db")"
put wal_bytes "$( [ -f "$tmp/A/caravan.db-wal" ] && stat -c %s "$tmp/A/caravan.db-wal" || echo 0)"
/usr/bin/python3 - "$tmp/A/caravan.db" "$results" <<'PY'
import sqlite3, sys
# The mean record as stored (its own columns: daemon/store/schema.md),
# context for the disk row and the row size raw_insert inserts.
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
def one(sql):
    try:
        return round(db.execute(sql).fetchone()[0] or 0)
    except sqlite3.Error as e:
        print("  record size: %s" % e, file=sys.stderr)
        return 0
form = ("coalesce(length(r.body), 0) + coalesce(length(r.salt), 0) + "
        "coalesce(length(r.signature), 0) + coalesce(length(r.raw), 0)")
avg = one("SELECT avg(%s) FROM records r" % form)
with open(sys.argv[2], "a") as f:
    f.write("record_bytes=%d\n" % avg)
print("  record_bytes = %d (stored form)" % avg)
PY
record_bytes=$(sed -n 's/^record_bytes=//p' "$results")
[ "${record_bytes:-0}" -gt 0 ] || record_bytes=800  # unreadable: the size issue 17 measured

echo "== baselines (same run)"
raw1=$("$raw_insert" "$tmp/gen/chunk-0000.txt" "$record_bytes" 0)
echo "  first step's rows, one transaction: $raw1"
put raw_one_txn_rate "$(rate_of "$raw1")"
cat "$tmp"/gen/chunk-*.txt >"$tmp/all.txt"
rawn=$("$raw_insert" "$tmp/all.txt" "$record_bytes" 1000)
rm -f "$tmp/all.txt"
echo "  all N rows, 1000 per transaction: $rawn"
put raw_1000_txn_rate "$(rate_of "$rawn")"
put verify_rate "$(verify_rate)"

echo "== 3. one-link catch-up of $stored_n records"
start A
a_log_seq=$(log_seq A)
catch_up() {  # NODE KEY: NODE links to A and fetches everything A holds
  start "$1"
  add "$1" A
  local t0 res got t1
  t0=$(now)
  add A "$1"
  res=$(wait_progress "$a_log_seq" acked A "$1")
  t1=${res#* }
  got=$(count "$1")  # once, after the clock stopped
  sleep 3  # the byte counters move on acks
  put "${2}_records" "$got"
  put "${2}_seconds" "$(py "round($t1-$t0,2)")"
  put "${2}_rate" "$(py "round($got/($t1-$t0))")"
  put "${2}_bytes_per_record" "$(py "round($(peer_bytes "$1" A)/max(1,$got))")"
}
catch_up B catchup_federation
stop B
catch_up C catchup_none
stop C

echo "== 4. submit -> queryable at a peer, one hop, $samples samples"
start B
for _ in $(seq 1 600); do link_ready A B && break; sleep 0.1; done
link_ready A B || { echo "link A-B did not come up or catch up" >&2; exit 1; }
hop_samples A B "$samples" "$tmp/lat.txt"
/usr/bin/python3 - "$tmp/lat.txt" "$results" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000
hop = [r[3] - r[0] for r in rows]
# What the method itself costs: the submit CLI plus one successful query
# CLI, as if the peer had the record the instant the submit returned.
floor = [(r[1] - r[0]) + (r[3] - r[2]) for r in rows]
# From the submit's return to the launch of the query that found it: the
# propagation alone, give or take one query call.
net = [r[2] - r[1] for r in rows]
with open(sys.argv[2], "a") as f:
    for k, v in (("hop_p50_ms", pct(hop, .5)), ("hop_p99_ms", pct(hop, .99)),
                 ("hop_floor_p50_ms", pct(floor, .5)),
                 ("hop_floor_p99_ms", pct(floor, .99)),
                 ("hop_net_p50_ms", pct(net, .5)),
                 ("hop_net_p99_ms", pct(net, .99))):
        f.write("%s=%.1f\n" % (k, v))
        print("  %s = %.1f" % (k, v))
PY
stop B; stop A

echo "== 5. bytes on the wire per IPv4 record ($wire_n IPv4 records from CERT-D)"
start D
cv D submit --file "$tmp/gen4/chunk-0000.txt" --tlp green --json >/dev/null 2>>"$tmp/submit.err" || true
wire_stored=$(count D)
put wire_records "$wire_stored"
# The mean signed IPv4 record as the store gives it back (what a record
# sent alone with its proof weighs): `caravan show` of 100 of them.
sample_ids=$(cv D --json query --type ipv4 --limit 100 | /usr/bin/python3 -c \
  'import json,sys;print("\n".join(i["id"] for i in json.load(sys.stdin)["indicators"]))')
put record_bytes_ipv4 "$(for id in $sample_ids; do cv D --json show "$id"; done |
  /usr/bin/python3 -c 'import json,sys
d=json.JSONDecoder();s=sys.stdin.read();i=0;v=[]
while i<len(s):
  s2=s[i:].lstrip()
  if not s2: break
  o,n=d.raw_decode(s2);i=len(s)-len(s2)+n;v.append(o["revisions"][0]["signed_bytes"])
print(round(sum(v)/max(1,len(v))))')"
wire() {  # NODE KEY
  start "$1"
  local before res got t0 t1
  before=$(count "$1")
  add "$1" D
  t0=$(now)
  add D "$1"
  res=$(wait_progress "$(log_seq D)" acked D "$1")
  t1=${res#* }
  # After the clock stopped. A large store's status counts may lag its
  # writes by seconds (daemon/node/counts_cache.h: ~10x what counting
  # costs, several seconds at 10M), so wait until they show what D sent,
  # for at most a minute; a shortfall after that is what the node holds.
  local deadline=$(( $(date +%s) + 60 ))
  while [ $(( $(count "$1") - before )) -lt "$wire_stored" ] &&
        [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 1
  done
  got=$(( $(count "$1") - before ))
  sleep 3
  put "${2}_records" "$got"
  put "${2}_rate" "$(py "round($got/($t1-$t0))")"
  put "${2}_bytes_per_record" "$(py "round($(peer_bytes "$1" D)/max(1,$got))")"
  stop "$1"
}
wire B wire_ipv4_federation
wire C wire_ipv4_none
stop D

echo "== 6. TAXII paging of $taxii_n objects"
taxii=$("$here/taxii_bench.sh" "$build" "$taxii_n")
echo "$taxii" | sed 's/^/  /'
put taxii_rate "$(sed -n 's/^TAXII paging:.* = \([0-9]*\) objects\/s.*/\1/p' <<<"$taxii")"
put taxii_export_stix_rate "$(sed -n 's/^baseline caravan export --format stix:.* = \([0-9]*\) objects\/s.*/\1/p' <<<"$taxii")"
put taxii_objects "$taxii_n"
put load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== result"
/usr/bin/python3 "$here/scale_report.py" "$results" | tee "$out/table.md"
if command -v gnuplot >/dev/null; then
  "$here/scale_plot.sh" "$csv" "$out/scale.png" "$n" && echo "plot: $out/scale.png"
else
  echo "gnuplot not installed: no plot (scripts/bench installs gnuplot-nox)"
fi
echo "csv: $csv  table: $out/table.md  raw figures: $results"
