#!/usr/bin/env bash
# Streaming STIX/MISP round trip (issue 19, finding 5), not part of ctest:
#   1. N indicators (real test data, then synthetic; stream_values.py) are
#      submitted to node A;
#   2. for stix and misp: `caravan export --format F` of A to a file, then
#      `caravan submit --format F` of that file into a fresh node; the two
#      stores must hold the same (type, value, tlp, confidence, tags) set;
#   3. export and import are timed (objects/s) and the CLI's peak RSS is
#      measured (/usr/bin/time -v); the issue's bar is 64 MiB.
# With BEFORE_CLI (an older caravan binary, e.g. main's build), the same
# export and import are run with it against the same daemons, as the
# baseline of the same run.
# Usage: stream_roundtrip.sh BUILD_DIR [N] [BEFORE_CLI]   (default N 200000)
set -euo pipefail

build=$(cd "$1" && pwd)
count=${2:-200000}
before=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../../shared/testdata/real"
[ -f "$testdata/ipv4.txt" ] || testdata=/work/shared/testdata/real
caravan="$build/tools/caravan"
caravand="$build/daemon/caravand"
for b in "$caravan" "$caravand" /usr/bin/time; do
  [ -x "$b" ] || { echo "stream_roundtrip: missing $b" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/cvrt-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_node NAME COUNTRY: a fresh node in $tmp/NAME, daemon running.
start_node() {
  "$caravan" init "$tmp/$1" --name "CERT-$1" --country "$2" >/dev/null
  "$caravand" --config "$tmp/$1/caravand.toml" 2>"$tmp/$1.log" &
  pids+=($!)
  for _ in $(seq 1 200); do
    "$caravan" --config "$tmp/$1/caravand.toml" status >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "stream_roundtrip: node $1 did not start" >&2; exit 1
}

# measure LABEL OBJECTS CLI ARGS... : runs CLI with ARGS (stdout to
# $tmp/out), prints seconds, objects/s and peak RSS; returns its exit code.
measure() {
  local label=$1 objects=$2; shift 2
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tmp/time.txt" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  t1=$(date +%s.%N)
  local rss
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
  python3 - "$label" "$objects" "$t0" "$t1" "$rss" "$rc" <<'PY'
import sys
label, n, t0, t1, rss, rc = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
s = t1 - t0
print("%-28s %8d objects %7.1f s %8.0f objects/s  peak RSS %6.1f MiB  exit %s" % (label, n, s, n / s, rss / 1024, rc))
PY
  return "$rc"
}

# contents NODE: the sorted (type,value,tlp,confidence,tags) rows.
contents() {
  "$caravan" --config "$tmp/$1/caravand.toml" export --format csv |
    python3 -c '
import csv, sys
rows = sorted(",".join(r[:5]) for r in list(csv.reader(sys.stdin))[1:])
sys.stdout.write("\n".join(rows) + "\n")'
}

echo "== data: $count indicators (real test data first, then synthetic)"
python3 "$here/stream_values.py" "$testdata" "$count" >"$tmp/values.csv"
start_node A UZ
"$caravan" --config "$tmp/A/caravand.toml" submit --file "$tmp/values.csv" --json \
  >"$tmp/submit.json" 2>"$tmp/submit.err" || true
cat "$tmp/submit.json"
contents A >"$tmp/A.rows"
stored=$(wc -l <"$tmp/A.rows")
echo "node A holds $stored indicators"

node=0
for format in stix misp; do
  for cli in "$caravan" ${before:+"$before"}; do
    which=after; [ "$cli" = "$caravan" ] || which=before
    echo "== $format ($which: $cli)"
    node=$((node + 1))
    out="$tmp/export-$which.$format.json"
    measure "export $format ($which)" "$stored" \
      "$cli" --config "$tmp/A/caravand.toml" export --format "$format" || {
        echo "  export failed: $(tail -c 300 "$tmp/err")"; continue; }
    mv "$tmp/out" "$out"
    echo "  export file: $(du -m "$out" | cut -f1) MiB"
    start_node "N$node" KZ
    if measure "import $format ($which)" "$stored" \
        "$cli" --config "$tmp/N$node/caravand.toml" submit --file "$out" \
        --format "$format" --json; then
      echo "  $(cat "$tmp/out")"
    else
      echo "  import failed: $(tail -c 300 "$tmp/err")"
      continue
    fi
    contents "N$node" >"$tmp/N$node.rows"
    if cmp -s "$tmp/A.rows" "$tmp/N$node.rows"; then
      echo "  round trip: equal sets ($(wc -l <"$tmp/N$node.rows") indicators)"
    else
      echo "  round trip: DIFFERENT ($(wc -l <"$tmp/N$node.rows") vs $stored);" \
           "first differences:"
      diff "$tmp/A.rows" "$tmp/N$node.rows" | head -5
    fi
    rm -f "$out"
  done
done
