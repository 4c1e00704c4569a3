#!/usr/bin/env bash
# Benchmarks of the operator's read commands over a large store (issue 15):
#   1. `caravan report --since 30d` (text and --json) over a store with
#      INDICATORS indicators and AUDIT audit entries, next to raw SQLite
#      scans of the same rows in the same run: a plain
#      `SELECT action, count(*) ... GROUP BY action` and the same GROUP BY
#      that also reads each entry's JSON detail (what the report must do);
#   2. `caravan audit --since 1d` over that log: seconds to the first line
#      and in total.
# Usage: report_bench.sh BUILD_DIR [INDICATORS] [AUDIT]
#        (defaults 1000000 and 3000000)
#
# The store is made by caravand (its own schema and migrations), then
# filled by direct SQL in one transaction (minutes faster than submitting
# and syncing): indicators and records of four types and TLPs, and audit
# entries over the last 30 days shaped as caravand writes them (55%
# withhold, 10% defer, 25% share batches of 4 records naming real log
# seqs, 10% accept batches of 4). Their hashes are random, so `audit
# verify` would fail: the report and `audit` do not read the chain; the
# chain head in meta is set to the last entry so caravand appends after it.
# The machine may be shared: read the ratios, not the absolute numbers.
set -euo pipefail

build=$(cd "$1" && pwd)
indicators=${2:-1000000}
audit=${3:-3000000}
caravan="$build/tools/caravan"
caravand="$build/daemon/caravand"
for b in "$caravan" "$caravand"; do
  [ -x "$b" ] || { echo "report_bench: missing $b (build it first)" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "report_bench: needs sqlite3" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cvr-XXXXXX)
daemon_pid=
stop_daemon() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
  fi
  daemon_pid=
}
cleanup() { stop_daemon; rm -rf "$tmp"; }
trap cleanup EXIT

now() { date +%s.%N; }
secs() { python3 -c "print('%.2f' % ($2 - $1))"; }
cli() { "$caravan" --config "$tmp/node/caravand.toml" --timeout 10m "$@"; }
start_daemon() {
  "$caravand" --config "$tmp/node/caravand.toml" 2>>"$tmp/caravand.log" &
  daemon_pid=$!
  for _ in $(seq 1 600); do cli status >/dev/null 2>&1 && return; sleep 0.1; done
  echo "report_bench: caravand did not start" >&2; cat "$tmp/caravand.log" >&2; exit 1
}

"$caravan" init "$tmp/node" --name CERT-BENCH --country UZ >/dev/null
start_daemon   # creates and migrates the store
stop_daemon
db="$tmp/node/caravan.db"
t_now=$(date +%s)
# caravand's own entries so far (start, stop): ours follow them.
base=$(sqlite3 "$db" "SELECT coalesce(max(seq), 0) FROM audit")
last=$((base + audit))

echo "== fill: $indicators indicators, $audit audit entries (direct SQL)"
t0=$(now)
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -400000;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $indicators)
INSERT INTO indicators (rid, id, type, value, origin, origin_country, origin_name,
  revision, variant, record_seq, tlp, confidence, description, created,
  valid_until, first_seen, last_seen, reshare, revoked, revoke_reason,
  received_from, quarantined, warning, stored_at)
SELECT x, CAST(printf('%032d', x) AS BLOB), (x % 4) * 2 % 7,
  'v' || x || '.example', zeroblob(32), 'UZ', 'CERT-BENCH', 1, 0, x, x % 3,
  80, '', $t_now - 86400 * 40, 0, $t_now - 86400 * 40, $t_now - 86400 * 40,
  0, 0, '', NULL, 0, 0, $t_now - 86400 * 40 FROM n;
INSERT INTO records (seq, rid, revision, variant, origin_seq, created,
                     received_from, stored_at, raw)
SELECT rid, rid, 1, 0, rid, created, NULL, stored_at, zeroblob(200)
  FROM indicators;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $audit)
INSERT INTO audit (seq, time, actor, action, subject, peer, detail, prev_hash, hash)
SELECT $base + x, $t_now - 30 * 86400 + (x * (30 * 86400 - 60)) / $audit, 'node',
  CASE WHEN x % 20 < 11 THEN 'withhold' WHEN x % 20 < 13 THEN 'defer'
       WHEN x % 20 < 18 THEN 'share' ELSE 'accept' END,
  printf('%064x', x), 'CERT-P' || (x % 5),
  CASE WHEN x % 20 < 11 THEN
    '{"seq":' || (x % $indicators + 1) || ',"country":"K' || (x % 5) ||
    '","rule":{"file":"","line":0,"key":"tlp_red"},"reason":"TLP:RED never leaves automatically","retry_at":0}'
  WHEN x % 20 < 13 THEN
    '{"seq":' || (x % $indicators + 1) || ',"country":"K' || (x % 5) ||
    '","rule":{"file":"default.toml","line":4,"key":"outbound.max_per_day"},"reason":"today''s quota of 1000 is used","retry_at":' || ($t_now + 3600) || '}'
  WHEN x % 20 < 18 THEN
    '{"count":4,"rule":{"file":"default.toml","line":3,"key":"outbound.share"},"reason":"shared under default.toml","country":"K' || (x % 5) ||
    '","records":[' ||
    '{"id":"' || printf('%064x', x) || '","seq":' || ((x * 4) % $indicators + 1) || ',"revision":1,"variant":0},' ||
    '{"id":"' || printf('%064x', x) || '","seq":' || ((x * 4 + 1) % $indicators + 1) || ',"revision":1,"variant":0},' ||
    '{"id":"' || printf('%064x', x) || '","seq":' || ((x * 4 + 2) % $indicators + 1) || ',"revision":1,"variant":0},' ||
    '{"id":"' || printf('%064x', x) || '","seq":' || ((x * 4 + 3) % $indicators + 1) || ',"revision":1,"variant":0}]}'
  ELSE
    '{"count":4,"rule":{"file":"default.toml","line":9,"key":"inbound.accept"},"reason":"accepted","records":[' ||
    '{"id":"' || printf('%064x', x) || '","revision":1,"variant":0,"origin":"CERT-P1"},' ||
    '{"id":"' || printf('%064x', x) || '","revision":1,"variant":0,"origin":"CERT-P1"},' ||
    '{"id":"' || printf('%064x', x) || '","revision":1,"variant":0,"origin":"CERT-P1"},' ||
    '{"id":"' || printf('%064x', x) || '","revision":1,"variant":0,"origin":"CERT-P1"}]}'
  END,
  randomblob(32), randomblob(32) FROM n;
UPDATE meta SET value = (SELECT max(seq) FROM records) WHERE key = 'origin_seq';
UPDATE meta SET value = $last WHERE key = 'audit_head_seq';
UPDATE meta SET value = (SELECT hash FROM audit WHERE seq = $last)
  WHERE key = 'audit_head_hash';
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
t1=$(now)
echo "filled in $(secs "$t0" "$t1") s; store $(du -m "$db" | cut -f1) MiB"

start_daemon
since=$((t_now - 30 * 86400))

echo "== 1. caravan report --since 30d over $audit audit entries"
# Warm the page cache the same way for every contender: one untimed read.
sqlite3 "$db" "SELECT count(*) FROM audit" >/dev/null
t0=$(now); cli report --since 30d --json >"$tmp/report.json"; t1=$(now)
report_json=$(secs "$t0" "$t1")
t0=$(now); cli report --since 30d >"$tmp/report.txt"; t1=$(now)
report_text=$(secs "$t0" "$t1")
t0=$(now); cli report --since 30d --html "$tmp/report.html" 2>/dev/null; t1=$(now)
report_html=$(secs "$t0" "$t1")
t0=$(now)
sqlite3 "$db" "SELECT action, count(*) FROM audit WHERE time >= $since GROUP BY action" >"$tmp/raw1.txt"
t1=$(now)
raw_count=$(secs "$t0" "$t1")
t0=$(now)
sqlite3 "$db" "SELECT action, peer, json_extract(detail, '\$.rule.key'), count(*), sum(coalesce(json_extract(detail, '\$.count'), 1)) FROM audit WHERE time >= $since GROUP BY 1, 2, 3" >"$tmp/raw2.txt"
t1=$(now)
raw_json=$(secs "$t0" "$t1")
python3 - "$tmp/report.json" "$tmp/raw1.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
raw = dict(l.strip().split("|") for l in open(sys.argv[2]) if l.strip())
print("report: shared %d, withheld %d, deferred %d, accepted %d records"
      % (r["shared"]["records"], r["withheld"]["withheld"],
         r["withheld"]["deferred"], r["received"]["accepted"]))
print("raw entries by action: %s" % raw)
PY
echo "caravan report --json:  $report_json s"
echo "caravan report (text):  $report_text s"
echo "caravan report --html:  $report_html s"
echo "raw sqlite3 GROUP BY action (count only):        $raw_count s"
echo "raw sqlite3 GROUP BY action, peer, rule (JSON):  $raw_json s"
python3 -c "print('ratio report --json / raw JSON GROUP BY: %.2f' % ($report_json / $raw_json))"
python3 -c "print('ratio report --json / raw count GROUP BY: %.2f' % ($report_json / $raw_count))"

echo "== 2. caravan audit --since 1d over $audit entries"
python3 - "$caravan" "$tmp/node/caravand.toml" <<'PY'
import subprocess, sys, time
for args in (["audit", "--since", "1d"], ["audit", "--since", "1d", "--json"]):
    t0 = time.monotonic()
    p = subprocess.Popen([sys.argv[1], "--config", sys.argv[2]] + args,
                         stdout=subprocess.PIPE)
    p.stdout.readline()          # the header (text) or '{"entries": ['
    p.stdout.readline()          # the first entry
    first = time.monotonic() - t0
    lines = 2 + sum(1 for _ in p.stdout)
    p.wait()
    total = time.monotonic() - t0
    print("caravan %s: first entry after %.2f s, %d lines in %.2f s"
          % (" ".join(args), first, lines, total))
PY
