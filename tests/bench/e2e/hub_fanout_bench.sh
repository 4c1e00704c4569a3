#!/usr/bin/env bash
# Hub fan-out benchmark (issue 20), not part of ctest: CERT-A shares N
# records with M members (default 10) that it reaches only through a relay
# hub HUB (docs/federation.md, hub mode): one sealed, chained, padded batch
# per member per page, each acknowledged end to end by the member's signed
# receipt. Measures records/s from the start of A's bulk submit until every
# member holds all N (N*M record deliveries). Baseline in the same run: the
# same A sharing the same N records with M members linked to it directly.
# Also prints the padding overhead of the sealed batches, summed from one
# member's "sealed_receive" audit entries (their "padding" and "bytes").
# Usage: hub_fanout_bench.sh BUILD_DIR [N] [M] [VALUES_FILE TYPE]
#   (default 20000 10, synthetic ipv4; e.g. the real domains with
#   /work/shared/testdata/real/domains.txt domain: N is then capped at the
#   file's distinct values)
# Shared 2-core machine: read the ratio.
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-20000}
m=${3:-10}
values_file=${4:-}
type=${5:-ipv4}
caravan="$build/tools/caravan"
caravand="$build/daemon/caravand"
for b in "$caravan" "$caravand"; do
  [ -x "$b" ] || { echo "hub_fanout_bench: missing $b" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/cvh-XXXXXX)
declare -A pid port
cleanup() {
  for k in "${!pid[@]}"; do kill -TERM "${pid[$k]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
cv() { local x=$1; shift; "$caravan" --config "$tmp/$x/caravand.toml" "$@"; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
start() {
  "$caravand" --config "$tmp/$1/caravand.toml" >>"$tmp/$1.log" 2>&1 &
  pid[$1]=$!
  for _ in $(seq 1 300); do cv "$1" status >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "caravand $1 did not start" >&2; cat "$tmp/$1.log" >&2; exit 1
}
count() { cv "$1" --json status | python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["indicators"])'; }
key() { cv "$1" --json key show | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])'; }
members=()
for i in $(seq 1 "$m"); do members+=("M$i"); done

# run TAG MODE: MODE "hub" (members via HUB) or "direct" (linked to A).
run() {
  local tag=$1 mode=$2 d="$tmp/$1"
  mkdir -p "$d"
  local nodes=(A "${members[@]}")
  [ "$mode" = hub ] && nodes+=(HUB)
  for x in "${nodes[@]}"; do
    port[$tag$x]=$(free_port)
    "$caravan" init "$d/$x" --name "CERT-$x" --country UZ \
      --peer-listen "127.0.0.1:${port[$tag$x]}" >/dev/null
    sed -i 's/^dial_backoff_max = .*/dial_backoff_max = "1s"/' "$d/$x/caravand.toml"
  done
  [ "$mode" = hub ] && sed -i 's/^enabled = false/enabled = true/' "$d/HUB/caravand.toml"
  printf '[outbound]\nshare = true\nmax_tlp = "amber"\n' >"$d/A/policies/default.toml"
  for x in "${nodes[@]}"; do start "$tag/$x"; done
  ck() { cv "$tag/$1" --json key show | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])'; }
  local ka; ka=$(ck A)
  if [ "$mode" = hub ]; then
    local kh; kh=$(ck HUB)
    cv "$tag/HUB" peers add CERT-A --country UZ --key "$ka" >/dev/null
    cv "$tag/A" peers add CERT-HUB --country UZ --key "$kh" --endpoint "127.0.0.1:${port[${tag}HUB]}" >/dev/null
    for x in "${members[@]}"; do
      local kx; kx=$(ck "$x")
      cv "$tag/HUB" peers add "CERT-$x" --country UZ --key "$kx" >/dev/null
      cv "$tag/$x" peers add CERT-HUB --country UZ --key "$kh" --endpoint "127.0.0.1:${port[${tag}HUB]}" >/dev/null
      cv "$tag/$x" peers add CERT-A --country UZ --key "$ka" --via CERT-HUB >/dev/null
      cv "$tag/A" peers add "CERT-$x" --country UZ --key "$kx" --via CERT-HUB >/dev/null
    done
  else
    for x in "${members[@]}"; do
      local kx; kx=$(ck "$x")
      cv "$tag/$x" peers add CERT-A --country UZ --key "$ka" --endpoint "127.0.0.1:${port[${tag}A]}" >/dev/null
      cv "$tag/A" peers add "CERT-$x" --country UZ --key "$kx" >/dev/null
    done
  fi
  sleep 3
  local t0 t1
  t0=$(now)
  cv "$tag/A" submit --file "$tmp/values.txt" --type "$type" --tlp green >/dev/null || true
  n=$(count "$tag/A")  # what A accepted of the file
  for x in "${members[@]}"; do
    while [ "$(count "$tag/$x")" -lt "$n" ]; do sleep 0.2; done
  done
  t1=$(now)
  if [ "$mode" = hub ]; then
    cv "$tag/M1" --json audit --limit 100000 | python3 -c 'import json,sys
doc=json.load(sys.stdin)
entries=doc["entries"] if isinstance(doc,dict) else doc
pad=tot=k=0
for e in entries:
  if e.get("action")!="sealed_receive": continue
  d=e.get("detail")
  d=json.loads(d) if isinstance(d,str) else d
  if not isinstance(d,dict) or "padding" not in d: continue
  pad+=d["padding"]; tot+=d["bytes"]; k+=1
if k: print("padding: %d bytes in %d envelopes of %d bytes (%.1f%% of what the hub carries)" % (pad,k,tot,100.0*pad/tot))'
  fi
  python3 -c "
s=$t1-$t0
print('$mode: %d records to %d members in %.2f s = %.0f records/s (%.0f deliveries/s)' % ($n, $m, s, $n/s, $n*$m/s))" | tee "$tmp/$tag.result"
  for x in "${nodes[@]}"; do kill -TERM "${pid[$tag/$x]}"; wait "${pid[$tag/$x]}" 2>/dev/null || true; unset "pid[$tag/$x]"; done
}

if [ -n "$values_file" ]; then
  python3 - "$values_file" "$n" "$tmp/values.txt" <<'P'
import sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen = []
for line in open(src, encoding="utf-8", errors="replace"):
    v = line.strip()
    if v and not v.startswith("#") and v not in seen:
        seen.append(v)
    if len(seen) == n:
        break
open(dst, "w").write("".join(v + "\n" for v in seen))
P
  n=$(wc -l <"$tmp/values.txt")
else
python3 - "$n" "$tmp" <<'P'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
with open(d + "/values.txt", "w") as f:
    for i in range(1, n + 1):
        f.write("10.%d.%d.%d\n" % ((i >> 16) & 255, (i >> 8) & 255, i & 255))
P
fi
run direct direct
run hub hub
python3 -c "
import re
def rate(p): return float(re.search(r'= (\d+) records/s', open(p).read()).group(1))
print('hub fan-out / direct fan-out (same run): %.2f' % (rate('$tmp/hub.result')/rate('$tmp/direct.result')))"
