#!/usr/bin/env bash
# TAXII 2.1 benchmark (issue 6), not part of ctest: one caravand holding N
# indicators (bulk submitted), a client paging through the "all"
# collection's objects with limit=1000 and `next`, as objects/s; baseline in
# the same run: the same node's `caravan export --format stix` (same store
# reads and STIX encoding, no HTTP, no paging), and `caravan export
# --format csv` (store reads only).
# Usage: taxii_bench.sh BUILD_DIR [N]   (default 100000)
# Shared 2-core machine: read the ratios.
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-100000}
here=$(cd "$(dirname "$0")" && pwd)
caravan="$build/tools/caravan"
caravand="$build/daemon/caravand"
passwd="$build/daemon/feeds/caravan-taxii-passwd"
for b in "$caravan" "$caravand" "$passwd"; do
  [ -x "$b" ] || { echo "taxii_bench: missing $b" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/cvt-XXXXXX)
pid=
cleanup() {
  # `wait` reports the SIGTERM as a failure: under set -e an && chain
  # ending in it would end the trap before the rm.
  if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
cli() { "$caravan" --config "$tmp/node/caravand.toml" "$@"; }
port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')

"$caravan" init "$tmp/node" --name CERT-BENCH --country UZ >/dev/null
hash=$(printf 'bench-pass\n' | "$passwd")
cat >"$tmp/node/taxii-accounts.toml" <<EOF
[[account]]
name = "bench"
password_hash = "$hash"
collections = ["own", "all"]
max_tlp = "red"
EOF
/usr/bin/python3 - "$tmp/node/caravand.toml" "$port" <<'PY'
import re, sys
path, port = sys.argv[1], sys.argv[2]
cfg = open(path).read()
cfg = re.sub(r'(\[taxii\][^\[]*?)listen = "[^"]*"',
             r'\1listen = "127.0.0.1:%s"\naccounts = "taxii-accounts.toml"' % port,
             cfg, count=1, flags=re.S)
open(path, "w").write(cfg)
PY
"$caravand" --config "$tmp/node/caravand.toml" 2>"$tmp/caravand.log" &
pid=$!
for _ in $(seq 1 200); do cli status >/dev/null 2>&1 && break; sleep 0.05; done

/usr/bin/python3 "$here/gen_values.py" "$n" >"$tmp/values.txt"
cli submit --file "$tmp/values.txt" --tlp green --json >/dev/null
echo "node holds $(cli --json status | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["indicators"])') indicators"

t0=$(now); cli export --format csv >"$tmp/all.csv"; t1=$(now)
csv_rows=$(($(wc -l <"$tmp/all.csv") - 1))
t2=$(now); cli export --format stix >"$tmp/all.stix"; t3=$(now)

/usr/bin/python3 - "$port" "$n" "$t0" "$t1" "$t2" "$t3" "$csv_rows" <<'PY'
import base64, json, sys, time, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2, t3 = map(float, sys.argv[3:7])
csv_rows = int(sys.argv[7])
auth = "Basic " + base64.b64encode(b"bench:bench-pass").decode()
def get(path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
        headers={"Authorization": auth,
                 "Accept": "application/taxii+json;version=2.1"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())
colls = {c["title"]: c["id"] for c in get("/api/collections/")["collections"]}
base = "/api/collections/%s/objects/?limit=1000" % colls["all"]
start = time.time()
seen, pages, nxt = 0, 0, None
while True:
    env = get(base + ("&next=" + nxt if nxt else ""))
    pages += 1
    seen += sum(1 for o in env.get("objects", []) if o["type"] == "indicator")
    if not env.get("more"):
        break
    nxt = env["next"]
taxii = time.time() - start
print("TAXII paging: %d indicator objects in %d pages, %.2f s = %d objects/s"
      % (seen, pages, taxii, seen / taxii))
print("baseline caravan export --format stix: %d in %.2f s = %d objects/s"
      % (csv_rows, t3 - t2, csv_rows / (t3 - t2)))
print("baseline caravan export --format csv:  %d in %.2f s = %d rows/s"
      % (csv_rows, t1 - t0, csv_rows / (t1 - t0)))
print("ratio TAXII / export stix: %.2f   TAXII / export csv: %.2f"
      % ((seen / taxii) / (csv_rows / (t3 - t2)), (seen / taxii) / (csv_rows / (t1 - t0))))
PY
