#!/usr/bin/env bash
# Submit -> queryable at a peer, one hop, on a small federation of two
# fresh nodes (A shares everything with B, reshare = "federation"): the
# same loop as row 4 of scale_bench.sh, without the large store, so a
# change to the link or sync path can be judged quickly against another
# build in the same run (run it once per build, alternating). Prints p50 /
# p99 / max of the whole hop and of the propagation alone ("net": from the
# submit's return to the launch of the query that found the value), and
# the samples whose propagation took over 10 ms. Not part of the test
# suite.
#
# Usage: hop_latency.sh BUILD [SAMPLES]   (SAMPLES 300)
set -euo pipefail
build=$(cd "$1" && pwd)
samples=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/cvh-XXXXXX)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
require "$caravan" "$caravand"
cleanup() { stop_all; rm -rf "$tmp"; }
trap cleanup EXIT
cc() { case $1 in A) echo UZ;; B) echo KZ;; esac; }

init_node A UZ
init_node B KZ
printf '%s\n' 'applies_to = ["KZ"]' '[outbound]' 'share = true' \
  'max_tlp = "amber"' 'reshare = "federation"' >"$tmp/A/policies/kz.toml"
start A
start B
add B A
add A B
for _ in $(seq 1 600); do link_ready A B && break; sleep 0.1; done
link_ready A B || { echo "link A-B did not come up" >&2; exit 1; }
hop_samples A B "$samples" "$tmp/lat.txt"
echo "build $build, $samples samples, load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$tmp/lat.txt" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000
hop = [r[3] - r[0] for r in rows]
net = [r[2] - r[1] for r in rows]
print("hop p50 %.1f p99 %.1f max %.1f ms; net p50 %.1f p90 %.1f p99 %.1f max %.1f ms"
      % (pct(hop, .5), pct(hop, .99), max(hop) * 1000,
         pct(net, .5), pct(net, .9), pct(net, .99), max(net) * 1000))
slow = [(i, round(n * 1000, 1)) for i, n in enumerate(net) if n > 0.01]
print("net over 10 ms: %d samples %s" % (len(slow), slow[:20]))
PY
