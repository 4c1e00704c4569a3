#!/usr/bin/env bash
# TAXII paging benchmark (issue 17): one caravand holding N indicators
# (bulk submitted through the CLI), then tests/bench/taxii_paging_client
# pages through the "all" collection with limit=1000 and `next` over HTTP,
# and measures its baselines on the same store file in the same run (raw
# SQLite read of the log, nlohmann DOM STIX of the same records). Not part
# of ctest.
# Usage: taxii_paging_bench.sh BUILD_DIR [N]   (default 100000)
# BASELINE_CARAVAND=/path/to/caravand: then also page the same store served
# by that binary (e.g. one built from an older commit): before/after in
# one run. TAXII_PAGING_PERF=FILE: record a perf profile (call graphs) of
# this build's caravand while it serves the pages.
# Shared 2-core machine: read the ratios.
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-100000}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/cvtp-XXXXXX)
# shellcheck source=e2e/lib.sh
. "$here/e2e/lib.sh"
passwd="$build/daemon/feeds/caravan-taxii-passwd"
client="$build/tests/bench/taxii_paging_client"
require "$caravan" "$caravand" "$passwd" "$client"
trap 'stop_all; rm -rf "$tmp"' EXIT
cli() { cv node "$@"; }
port=$(free_port)

init_node node UZ
hash=$(printf 'bench-pass\n' | "$passwd")
cat >"$tmp/node/taxii-accounts.toml" <<TOML
[[account]]
name = "bench"
password_hash = "$hash"
collections = ["own", "all"]
max_tlp = "red"
TOML
/usr/bin/python3 - "$tmp/node/caravand.toml" "$port" <<'PY'
import re, sys
path, port = sys.argv[1], sys.argv[2]
cfg = open(path).read()
cfg = re.sub(r'(\[taxii\][^\[]*?)listen = "[^"]*"',
             r'\1listen = "127.0.0.1:%s"\naccounts = "taxii-accounts.toml"' % port,
             cfg, count=1, flags=re.S)
open(path, "w").write(cfg)
PY
start node

/usr/bin/python3 "$here/e2e/gen_values.py" "$n" >"$tmp/values.txt"
cli submit --file "$tmp/values.txt" --tlp green --json >/dev/null
echo "node holds $(count node) indicators"
all=$(/usr/bin/python3 -c 'import hashlib,sys
d=hashlib.blake2b(b"caravan taxii collection\0all",digest_size=32).digest()
b=bytearray(d[:16]);b[6]=(b[6]&15)|0x50;b[8]=(b[8]&0x3f)|0x80;h=b.hex()
print("%s-%s-%s-%s-%s"%(h[:8],h[8:12],h[12:16],h[16:20],h[20:]))')
echo "== this build's caravand"
perf_pid=
if [ -n "${TAXII_PAGING_PERF:-}" ]; then
  perf record -F 499 --call-graph dwarf,16384 -p "${pid[node]}" -o "$TAXII_PAGING_PERF" \
    2>/dev/null &
  perf_pid=$!
  sleep 1
fi
"$client" "$port" bench bench-pass "$all" "$tmp/node/caravan.db" 1000 "${pid[node]}"
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
if [ -n "${BASELINE_CARAVAND:-}" ]; then
  stop node
  caravand=$BASELINE_CARAVAND start node
  echo "== baseline caravand $BASELINE_CARAVAND"
  "$client" "$port" bench bench-pass "$all" "$tmp/node/caravan.db" 1000 "${pid[node]}"
fi
