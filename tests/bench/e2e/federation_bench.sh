#!/usr/bin/env bash
# Federation benchmarks (issue 5), not part of ctest:
#   1. one-link throughput: CERT-A holds N records (bulk submitted, committed)
#      while CERT-B is down; B starts and catches up. records/s from B's
#      start until B holds all N (verified and committed), which is also the
#      catch-up time of a peer that missed N records. Same run: the raw
#      SQLite insert rate of the same rows (raw_insert, 800-byte signed
#      records as a 1000-record batch stores them) at 1000 rows per
#      transaction (one Records message) and at 8000 (the most the receiver
#      groups into one commit), and the single-core Ed25519 verify rate
#      (crypto_bench BM_VerifyRawBaseline, fastest of 5 runs).
#   2. live throughput: B up while A bulk submits N more; from submit start
#      until B holds them (submit and transfer overlap).
#   3. bytes on a no-change reconnect (status bytes counters at A).
#   4. submit-to-queryable latency, one hop (A->B) and two hops (A->B->C,
#      relayed with reshare federation), p50/p99 over SAMPLES single submits;
#      each sample includes one `caravan submit` and CLI polling (~ms).
# Usage: federation_bench.sh BUILD_DIR [N] [SAMPLES]   (default 200000 200)
# Shared 2-core machine: read the ratios.
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-200000}
samples=${3:-200}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/cvf-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand" "$raw_insert" "$crypto_bench"
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
cc() { case $1 in A) echo UZ;; B) echo KZ;; C) echo CN;; esac; }

for x in A B C; do init_node "$x" "$(cc $x)"; done
cat >"$tmp/A/policies/default.toml" <<'T'
[outbound]
share = true
max_tlp = "amber"
reshare = "federation"
T
cp "$tmp/A/policies/default.toml" "$tmp/B/policies/default.toml"

python3 - "$n" "$tmp" <<'P'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
with open(d + "/values1.txt", "w") as f:
    for i in range(1, n + 1):
        f.write("10.%d.%d.%d\n" % ((i >> 16) & 255, (i >> 8) & 255, i & 255))
with open(d + "/values2.txt", "w") as f:
    for i in range(1, n + 1):
        f.write("11.%d.%d.%d\n" % ((i >> 16) & 255, (i >> 8) & 255, i & 255))
P

echo "== baselines (same run)"
raw=$("$raw_insert" "$tmp/values1.txt" 800 1000)
echo "$raw"
raw_rate=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$raw")
raw8k=$("$raw_insert" "$tmp/values1.txt" 800 8000)
echo "$raw8k"
raw8k_rate=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$raw8k")
verify_rate=$(verify_rate)
echo "ed25519 single verify: $verify_rate /s (one core, fastest of 5)"

echo "== 1. one-link catch-up of $n records"
start A; start B
add A B; add B A
stop B   # B misses everything while A commits the bulk
cv A submit --file "$tmp/values1.txt" --type ipv4 --tlp green >/dev/null
echo "A holds $(count A)"
t0=$(now)
start B
wait_count B "$n"
t1=$(now)
python3 -c "
s=$t1-$t0; r=$n/s
print('catch-up: %d records in %.2f s = %.0f records/s' % ($n, s, r))
print('ratio to raw SQLite insert (1000/txn): %.2f' % (r/$raw_rate))
print('ratio to raw SQLite insert (8000/txn): %.2f' % (r/$raw8k_rate))
print('ratio to single-core Ed25519 verify:   %.2f' % (r/$verify_rate))"

echo "== 2. live: submit at A while B is up"
sleep 2
t0=$(now)
cv A submit --file "$tmp/values2.txt" --type ipv4 --tlp green >/dev/null
t_sub=$(now)
wait_count B $((2 * n))
t1=$(now)
python3 -c "
print('submit %.2f s; submit start to all at B: %.2f s = %.0f records/s' % ($t_sub-$t0, $t1-$t0, $n/($t1-$t0)))"

echo "== 3. no-change reconnect"
sleep 3
before=$(peer_bytes A B)
stop B; start B
sleep 5
after=$(peer_bytes A B)
echo "bytes counted at A for the reconnect: $((after - before)) (counters move on acks only)"
stop B; stop A

echo "== 4. submit-to-queryable latency, $samples samples"
start A; start B; start C
add B C; add C B; add A C 0; add C A 0   # A<->B exist
cat >"$tmp/B/policies/default.toml" <<'T'
[outbound]
share = true
max_tlp = "amber"
reshare = "federation"
T
cv B policy reload >/dev/null
# Sample only once every link of the path is up and has no backlog (a
# sample that waits for a dial is a connect time, and one that waits while
# B decides its whole log for the new peer C is a catch-up time, not a
# latency).
for pair in "A B" "B C"; do
  set -- $pair
  for _ in $(seq 1 1200); do link_ready "$1" "$2" && break; sleep 0.1; done
  link_ready "$1" "$2" || { echo "link $1-$2 did not come up or catch up" >&2; exit 1; }
done
: >"$tmp/lat.txt"
for i in $(seq 1 "$samples"); do
  v="172.16.$((i / 256)).$((i % 256))"
  t0=$(now)
  cv A submit ipv4 "$v" --tlp green --reshare federation >/dev/null
  until cv B query "$v" >/dev/null 2>&1; do :; done
  t1=$(now)
  until cv C query "$v" >/dev/null 2>&1; do :; done
  t2=$(now)
  echo "$t0 $t1 $t2" >>"$tmp/lat.txt"
done
python3 - "$tmp/lat.txt" <<'P'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000
one = [r[1] - r[0] for r in rows]; two = [r[2] - r[0] for r in rows]
print("one hop:  p50 %.1f ms  p99 %.1f ms" % (pct(one, .5), pct(one, .99)))
print("two hops: p50 %.1f ms  p99 %.1f ms" % (pct(two, .5), pct(two, .99)))
worst = max(range(len(two)), key=lambda i: two[i])
print("two hops: worst %.1f ms (sample %d of %d)" % (two[worst] * 1000, worst + 1, len(two)))
P
