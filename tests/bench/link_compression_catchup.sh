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
[ -r "$data/real/ipv4.txt" ] || { echo "missing $data/real/ipv4.txt" >&2; exit 1; }
root=$(mktemp -d /tmp/cvz-XXXXXX)
tmp=$root  # each case points lib.sh's node directory at its own subdirectory
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
require "$caravan" "$caravand"
trap 'stop_all; rm -rf "$root"' EXIT
cc() { [ "$1" = A ] && echo UZ || echo KZ; }
awk -v n="$n" '!/^#/ && NF { print; if (++k == n) exit }' "$data/real/ipv4.txt" >"$root/values.txt"
n=$(wc -l <"$root/values.txt")

bytes() {  # A's bytes sent to and received from CERT-B
  cv A --json status | /usr/bin/python3 -c "import json,sys
for p in json.load(sys.stdin)['peers']:
  if p['name']=='CERT-B': print(p['bytes_sent'], p['bytes_received'])"
}

run_case() {  # compression policy(none|federation)
  local mode=$1 policy=$2
  tmp="$root/$1-$2"
  mkdir -p "$tmp"
  for x in A B; do
    init_node "$x" "$(cc "$x")"
    sed -i "s/^compression = .*/compression = \"$mode\"/" "$tmp/$x/caravand.toml"
    printf '[outbound]\nshare = true\nmax_tlp = "amber"\n' >"$tmp/$x/policies/default.toml"
    [ "$policy" = federation ] && echo 'reshare = "federation"' >>"$tmp/$x/policies/default.toml"
  done
  start A; start B
  add A B; add B A
  stop B
  cv A submit --file "$root/values.txt" --type ipv4 --tlp green >/dev/null
  local held; held=$(count A)
  read -r s0 r0 < <(bytes)
  local t0; t0=$(now)
  start B
  wait_count B "$held"
  local t1; t1=$(now)
  sleep 1  # the last acks
  read -r s1 r1 < <(bytes)
  /usr/bin/python3 -c "
n=$held; s=$t1-$t0
print('%-5s reshare=%-10s %7d records  %6.2f s  %7.0f rec/s  A->B %6.1f B/rec  B->A %5.1f B/rec' % (
  '$mode', '$policy', n, s, n/s, ($s1-$s0)/n, ($r1-$r0)/n))"
  stop A; stop B
}

echo "== one-link catch-up of $n real IPv4 records (same run; compare rows)"
for policy in none federation; do
  for mode in off zstd; do run_case "$mode" "$policy"; done
done
