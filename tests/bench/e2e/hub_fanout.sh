#!/usr/bin/env bash
# Hub fan-out (issue 20, "Numbers in your note"), not part of ctest.
#
# CERT-A shares N records with M members (default 10) that it reaches only
# through a relay hub HUB (docs/federation.md, hub mode: one sealed,
# chained, padded batch per member per page, counted delivered on the
# member's signed receipt). Time from the start of A's bulk submit until
# every member holds all N (N x M deliveries): records/s and deliveries/s.
# Baselines in the same run, same N, M, values and machine:
#   direct  the same A linked to the M members directly (no hub);
#   before  (only with BASELINE_CARAVAND) the same hub fan-out with older
#           binaries: BASELINE_CARAVAND=/path/to/old/daemon/caravand, its
#           CLI from BASELINE_CARAVAN or ../tools/caravan beside it (the
#           CLI and the daemon must be of one version).
# Also prints the padding overhead of the sealed batches as one member
# received them (the "padding" and "bytes" of its sealed_receive audit
# entries; absent from versions without padding) and the load average
# before each run.
#
# Usage: hub_fanout.sh BUILD_DIR [N] [M]        (default 3000 10)
#   VALUES_FILE=FILE VALUES_TYPE=TYPE: the first N distinct values of FILE
#   (e.g. /work/shared/testdata/real/domains.txt and domain) instead of
#   synthetic IPv4 addresses. ORDER="direct before after" (the default;
#   runs in that order, a run left out is skipped).
# M + 2 daemons share the machine: on 2 shared cores the figures are bound
# by the machine; read the ratios, and the load averages printed.
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-3000}
m=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d /tmp/cvhf-XXXXXX)
tmp=$root  # lib.sh's node directories; each run moves it to its own
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand"
new_caravan=$caravan new_caravand=$caravand
old_caravand=${BASELINE_CARAVAND:-}
old_caravan=
if [ -n "$old_caravand" ]; then
  old_caravan=${BASELINE_CARAVAN:-$(dirname "$old_caravand")/../tools/caravan}
  require "$old_caravand" "$old_caravan"
fi
order=${ORDER:-direct before after}
cleanup() { stop_all; rm -rf "$root"; }
trap cleanup EXIT
members=()
for i in $(seq 1 "$m"); do members+=("M$i"); done

py() { /usr/bin/python3 "$@"; }
# NODE PEER...: NODE's links to those peers are up, and every member it
# reaches via a hub has a prekey to seal to (versions without prekeys
# have no such field: not waited for).
ready() {
  local x=$1; shift
  cv "$x" --json peers list | py -c 'import json,sys
want={"CERT-"+p for p in sys.argv[1:]}
ok=True
for p in json.load(sys.stdin)["peers"]:
  if p["name"] in want:
    ok = ok and p["link"] == "up"
    want.discard(p["name"])
  elif p.get("via") and "prekey" in p:
    ok = ok and p["prekey"] is not None
sys.exit(0 if ok and not want else 1)' "$@"
}
wait_ready() {  # NODE PEER...: until ready, at most 60 s
  for _ in $(seq 1 300); do ready "$@" && return 0; sleep 0.2; done
  echo "hub_fanout: $1 is not ready (links to ${*:2}, prekeys):" >&2
  cv "$1" --json peers list >&2; exit 1
}
wait_held() {  # TARGET NODE...: until each NODE holds TARGET, at most 1 h
  local target=$1 deadline=$((SECONDS + 3600)); shift
  for x in "$@"; do
    while [ "$(count "$x")" -lt "$target" ]; do
      [ $SECONDS -lt $deadline ] || { echo "hub_fanout: $x holds $(count "$x") of $target after 1 h" >&2; exit 1; }
      sleep 0.2
    done
  done
}
peers_add() {  # NODE OTHER [ARGS...]: NODE learns CERT-OTHER
  local x=$1 y=$2; shift 2
  cv "$x" peers add "CERT-$y" --country UZ --key "$(key "$y")" "$@" >/dev/null
}

# run TAG MODE: MODE "hub" (members via HUB) or "direct" (linked to A),
# with the binaries in $caravan / $caravand.
run() {
  local tag=$1 mode=$2
  tmp=$root/$tag
  mkdir -p "$tmp"
  pid=() port=()
  local nodes=(A "${members[@]}")
  [ "$mode" = hub ] && nodes+=(HUB)
  for x in "${nodes[@]}"; do init_node "$x" UZ; done
  if [ "$mode" = hub ]; then
    # enabled = true in [hub] only.
    sed -i '/^\[hub\]/,/^\[/ s/^enabled = false/enabled = true/' "$tmp/HUB/caravand.toml"
    grep -q '^enabled = true' "$tmp/HUB/caravand.toml" ||
      { echo "hub_fanout: could not enable [hub] in HUB's config" >&2; exit 1; }
  fi
  printf '[outbound]\nshare = true\nmax_tlp = "amber"\n' >"$tmp/A/policies/default.toml"
  for x in "${nodes[@]}"; do start "$x"; done
  if [ "$mode" = hub ]; then
    peers_add HUB A
    peers_add A HUB --endpoint "127.0.0.1:${port[HUB]}"
    for x in "${members[@]}"; do
      peers_add HUB "$x"
      peers_add "$x" HUB --endpoint "127.0.0.1:${port[HUB]}"
      peers_add "$x" A --via CERT-HUB
      peers_add A "$x" --via CERT-HUB
    done
    wait_ready HUB A "${members[@]}"
    wait_ready A HUB
    for x in "${members[@]}"; do wait_ready "$x" HUB; done
  else
    for x in "${members[@]}"; do
      peers_add "$x" A --endpoint "127.0.0.1:${port[A]}"
      peers_add A "$x"
    done
    wait_ready A "${members[@]}"
  fi
  local load t0 t1 held
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(now)
  cv A submit --file "$root/values.txt" --type "$type" --tlp green >/dev/null || true
  held=$(count A)  # what A accepted of the file
  wait_held "$held" "${members[@]}"
  t1=$(now)
  py -c "
s=$t1-$t0
print('%-6s %-6s %d records to %d members in %.2f s = %.0f records/s (%.0f deliveries/s); load before %s' % ('$tag', '$mode', $held, $m, s, $held/s, $held*$m/s, '$load'))" |
    tee "$root/$tag.result"
  if [ "$mode" = hub ]; then
    { cv M1 --json audit --action sealed_receive --limit 1000 2>/dev/null || echo '[]'; } | py -c 'import json,sys
doc=json.load(sys.stdin)
entries=doc["entries"] if isinstance(doc,dict) else doc
pad=tot=k=0
for e in entries:
  d=e.get("detail")
  d=json.loads(d) if isinstance(d,str) else d
  if not isinstance(d,dict) or "padding" not in d: continue
  pad+=d["padding"]; tot+=d["bytes"]; k+=1
if k: print("       padding: %d bytes in %d envelopes of %d bytes at M1 (%.1f%% of what the hub carries)" % (pad,k,tot,100.0*pad/tot))
else: print("       padding: not audited by this version")' | tee -a "$root/$tag.result"
  fi
  stop_all
  pid=()
}

type=${VALUES_TYPE:-ipv4}
if [ -n "${VALUES_FILE:-}" ]; then
  py - "$VALUES_FILE" "$n" "$root/values.txt" <<'P'
import sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen, out = set(), []
for line in open(src, encoding="utf-8", errors="replace"):
    v = line.strip()
    if v and not v.startswith("#") and v not in seen:
        seen.add(v)
        out.append(v)
    if len(out) == n:
        break
open(dst, "w").write("".join(v + "\n" for v in out))
P
else
  py - "$n" "$root/values.txt" <<'P'
import sys
n, dst = int(sys.argv[1]), sys.argv[2]
with open(dst, "w") as f:
    for i in range(1, n + 1):
        f.write("10.%d.%d.%d\n" % ((i >> 16) & 255, (i >> 8) & 255, i & 255))
P
fi
echo "hub fan-out: $(wc -l <"$root/values.txt") $type values, $m members, $(nproc) cores"
echo "after:  $new_caravand"
[ -n "$old_caravand" ] && echo "before: $old_caravand"
for r in $order; do
  case $r in
    direct) caravan=$new_caravan caravand=$new_caravand; run direct direct ;;
    after) caravan=$new_caravan caravand=$new_caravand; run after hub ;;
    before)
      [ -n "$old_caravand" ] || continue
      caravan=$old_caravan caravand=$old_caravand; run before hub ;;
    *) echo "hub_fanout: unknown run $r in ORDER" >&2; exit 2 ;;
  esac
done
py - "$root" <<'P'
import os, re, sys
root = sys.argv[1]
def rate(tag):
    p = os.path.join(root, tag + ".result")
    if not os.path.exists(p):
        return None
    return float(re.search(r"= (\d+) records/s", open(p).read()).group(1))
after, direct, before = rate("after"), rate("direct"), rate("before")
if after and direct:
    print("after / direct (same run): %.2f" % (after / direct))
if after and before:
    print("after / before (same run): %.2f" % (after / before))
P
