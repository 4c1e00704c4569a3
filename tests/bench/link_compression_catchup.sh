#!/usr/bin/env bash
# Link compression end to end (docs/wire.md 4.3), not part of ctest: a
# one-link catch-up of N real IPv4 indicators (../shared/testdata/real/
# ipv4.txt, first N) with [links] compression = "zstd" and = "off" in the
# same run, each under two policies: without a reshare key (the default:
# the sender re-signs every record alone) and with reshare = "federation"
# (stored batch-signed records, each with its Merkle proof).
# Prints, per case: records/s from B's start until B holds all N, wire bytes
# A->B per record (Noise framing and the acks' direction counted apart),
# and the compression ratio from /metrics-equivalent status counters.
# Usage: link_compression_catchup.sh BUILD_DIR [N]   (default 50000)
# Shared 2-core machine: compare the zstd and off rows of one run.
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-50000}
data=${CARAVAN_TESTDATA_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/testdata}
caravan="$build/tools/caravan"
caravand="$build/daemon/caravand"
for b in "$caravan" "$caravand"; do
  [ -x "$b" ] || { echo "link_compression_catchup: missing $b" >&2; exit 1; }
done
[ -r "$data/real/ipv4.txt" ] || { echo "missing $data/real/ipv4.txt" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cvz-XXXXXX)
declare -A pid port
cleanup() {
  for k in "${!pid[@]}"; do kill -TERM "${pid[$k]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
awk -v n="$n" '!/^#/ && NF { print; if (++k == n) exit }' "$data/real/ipv4.txt" >"$tmp/values.txt"
n=$(wc -l <"$tmp/values.txt")

run_case() {  # compression policy(none|federation)
  local mode=$1 policy=$2 d="$tmp/$1-$2"
  mkdir -p "$d"
  cv() { local x=$1; shift; "$caravan" --config "$d/$x/caravand.toml" "$@"; }
  start() {
    "$caravand" --config "$d/$1/caravand.toml" >>"$d/$1.log" 2>&1 &
    pid[$1]=$!
    for _ in $(seq 1 300); do cv "$1" status >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "caravand $1 did not start" >&2; cat "$d/$1.log" >&2; exit 1
  }
  stop() { kill -TERM "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null || true; unset "pid[$1]"; }
  count() { cv "$1" --json status | python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["indicators"])'; }
  key() { cv "$1" --json key show | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])'; }
  bytes() { cv A --json status | python3 -c "import json,sys
for p in json.load(sys.stdin)['peers']:
  if p['name']=='CERT-B': print(p['bytes_sent'], p['bytes_received'])"; }
  for x in A B; do
    port[$x]=$(free_port)
    "$caravan" init "$d/$x" --name "CERT-$x" --country "$([ $x = A ] && echo UZ || echo KZ)" \
      --peer-listen "127.0.0.1:${port[$x]}" >/dev/null
    sed -i 's/^dial_backoff_max = .*/dial_backoff_max = "1s"/' "$d/$x/caravand.toml"
    sed -i "s/^compression = .*/compression = \"$mode\"/" "$d/$x/caravand.toml"
    printf '[outbound]\nshare = true\nmax_tlp = "amber"\n' >"$d/$x/policies/default.toml"
    [ "$policy" = federation ] && echo 'reshare = "federation"' >>"$d/$x/policies/default.toml"
  done
  start A; start B
  cv A peers add CERT-B --country KZ --key "$(key B)" --endpoint "127.0.0.1:${port[B]}" >/dev/null
  cv B peers add CERT-A --country UZ --key "$(key A)" --endpoint "127.0.0.1:${port[A]}" >/dev/null
  stop B
  cv A submit --file "$tmp/values.txt" --type ipv4 --tlp green >/dev/null
  local held; held=$(count A)
  read -r s0 r0 < <(bytes)
  local t0; t0=$(now)
  start B
  while [ "$(count B)" -lt "$held" ]; do sleep 0.1; done
  local t1; t1=$(now)
  sleep 1  # the last acks
  read -r s1 r1 < <(bytes)
  python3 -c "
n=$held; s=$t1-$t0
print('%-5s reshare=%-10s %7d records  %6.2f s  %7.0f rec/s  A->B %6.1f B/rec  B->A %5.1f B/rec' % (
  '$mode', '$policy', n, s, n/s, ($s1-$s0)/n, ($r1-$r0)/n))"
  stop A; stop B
}

echo "== one-link catch-up of $n real IPv4 records (same run; compare rows)"
for policy in none federation; do
  for mode in off zstd; do run_case "$mode" "$policy"; done
done
