#!/usr/bin/env bash
# Identity key rotation (issue 16), not part of ctest: three real daemons,
# CERT-A (UZ) rotates its identity key with `caravan key rotate` while
# CERT-B and CERT-C are online, RUNS times.
#   - time from `caravan key rotate` returning until both online peers show
#     A's new key in `caravan peers list` (polled every 20 ms);
#   - baseline in the same run, same nodes: `caravan key rotate --link` at
#     A until both peers have audited the new link key (link-key-accept,
#     i.e. relinked under it);
#   - records lost or doubled: A submits PER records before and PER after
#     each rotation; at the end B and C must hold exactly A's values, each
#     once (`export --format plain`).
# Usage: identity_rotation_bench.sh BUILD_DIR [RUNS] [PER]   (default 5 50)
# Shared 2-core machine: compare with the baseline of the same run.
set -euo pipefail
build=$(cd "$1" && pwd)
runs=${2:-5}
per=${3:-50}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/cvr-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand"
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
cc() { case $1 in A) echo UZ;; B) echo KZ;; C) echo CN;; esac; }

for x in A B C; do
  init_node "$x" "$(cc $x)"
  printf '[outbound]\nshare = true\nmax_tlp = "amber"\n' >"$tmp/$x/policies/default.toml"
done
for x in A B C; do start "$x"; done
for x in A B C; do for y in A B C; do [ "$x" = "$y" ] || add "$x" "$y"; done; done
until link_ready A B && link_ready A C; do sleep 0.1; done

peer_key() {  # NODE PEER: the key NODE pins for CERT-PEER
  cv "$1" --json peers list 2>/dev/null | /usr/bin/python3 -c "import json,sys
for p in json.load(sys.stdin)['peers']:
  if p['name']=='CERT-$2': print(p['key'])" || true
}
audits() {  # NODE ACTION: how many audit entries of ACTION NODE holds
  cv "$1" --json audit --limit 10000 | /usr/bin/python3 -c "import json,sys
d=json.load(sys.stdin); e=d['entries'] if isinstance(d,dict) else d
print(sum(1 for x in e if x.get('action')=='$2'))"
}
submit_batch() {  # FIRST COUNT: A submits 192.0.2-ish values FIRST..FIRST+COUNT-1
  /usr/bin/python3 -c "
for i in range($1, $1 + $2): print('10.9.%d.%d' % (i >> 8 & 255, i & 255))" >"$tmp/batch.txt"
  until cv A submit --file "$tmp/batch.txt" >/dev/null 2>&1; do sleep 0.05; done
}
ms_since() { /usr/bin/python3 -c "import sys;print(round((float(sys.argv[2])-float(sys.argv[1]))*1000))" "$1" "$(now)"; }

next=1
echo "run identity_ms link_baseline_ms"
for r in $(seq 1 "$runs"); do
  # Each run starts settled: A up (after the last run's reload), both
  # links up with nothing queued.
  until link_ready A B 2>/dev/null && link_ready A C 2>/dev/null; do sleep 0.1; done
  submit_batch "$next" "$per"; next=$((next + per))
  # Baseline: link key rotation, until both peers audited the new link key.
  b0=$(audits B link-key-accept); c0=$(audits C link-key-accept)
  until cv A key rotate --link >/dev/null 2>&1; do sleep 0.1; done
  t=$(now)
  until [ "$(audits B link-key-accept)" -gt "$b0" ] && [ "$(audits C link-key-accept)" -gt "$c0" ]; do
    sleep 0.02
  done
  link_ms=$(ms_since "$t")
  # The identity key.
  # Rotation times are whole seconds and strictly increasing: a second
  # rotation within one second is refused (retry later), and so is any
  # request while the node reloads.
  until out=$(cv A --json key rotate 2>/dev/null); do sleep 0.2; done
  new=$(/usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["new_key"])' <<<"$out")
  t=$(now)
  until [ "$(peer_key B A)" = "$new" ] && [ "$(peer_key C A)" = "$new" ]; do sleep 0.02; done
  id_ms=$(ms_since "$t")
  echo "$r $id_ms $link_ms"
  submit_batch "$next" "$per"; next=$((next + per))
done

total=$((next - 1))
until link_ready A B 2>/dev/null && link_ready A C 2>/dev/null; do sleep 0.1; done
for x in B C; do
  wait_count "$x" "$total"
  cv "$x" export --format plain >"$tmp/$x.values"
  cv A export --format plain | sort >"$tmp/A.values"
  lost=$(sort -u "$tmp/$x.values" | comm -23 "$tmp/A.values" - | wc -l)
  doubled=$(sort "$tmp/$x.values" | uniq -d | wc -l)
  echo "CERT-$x: A submitted $total, holds $(wc -l <"$tmp/$x.values"), lost $lost, doubled $doubled"
done
