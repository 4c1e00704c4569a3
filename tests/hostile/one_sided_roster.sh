#!/bin/bash
# A peer added on one side only (issue 15 finding 4; docs/federation.md,
# "When only one side has added the other"): two daemons on loopback, KZ
# has UZ on its roster, UZ does not have KZ. After SECONDS it prints KZ's
# `peers list`, the audit rows each side wrote in the window, KZ's "link up"
# log lines (one per dial on a build before roster refusals) and the audit
# actions. Dials after the change: the refusal count in LAST ERROR.
#
# Usage: tests/hostile/one_sided_roster.sh BIN_DIR [SECONDS]
#   BIN_DIR holds caravand and caravan (e.g. build/daemon and build/tools
#   copied together); SECONDS defaults to 60.
set -eu
BIN=$1; SECS=${2:-60}
D=$(mktemp -d /tmp/onesided-XXXX)
P1=$((20000 + RANDOM % 20000)); P2=$((P1 + 1))
$BIN/caravan init --name CERT-UZ --country UZ --peer-listen 127.0.0.1:$P1 $D/uz >/dev/null
$BIN/caravan init --name CERT-KZ --country KZ --peer-listen 127.0.0.1:$P2 $D/kz >/dev/null
$BIN/caravand --config $D/uz/caravand.toml >$D/uz.log 2>&1 & U=$!
$BIN/caravand --config $D/kz/caravand.toml >$D/kz.log 2>&1 & K=$!
for i in $(seq 50); do $BIN/caravan --config $D/uz/caravand.toml status >/dev/null 2>&1 && $BIN/caravan --config $D/kz/caravand.toml status >/dev/null 2>&1 && break; sleep 0.2; done
UK=$($BIN/caravan --config $D/uz/caravand.toml --json key show | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
a0u=$($BIN/caravan --config $D/uz/caravand.toml --json audit | /usr/bin/python3 -c 'import json,sys;print(len(json.load(sys.stdin)["entries"]))')
a0k=$($BIN/caravan --config $D/kz/caravand.toml --json audit | /usr/bin/python3 -c 'import json,sys;print(len(json.load(sys.stdin)["entries"]))')
$BIN/caravan --config $D/kz/caravand.toml peers add CERT-UZ --country UZ --key $UK --endpoint 127.0.0.1:$P1 >/dev/null
sleep $SECS
a1u=$($BIN/caravan --config $D/uz/caravand.toml --json audit | /usr/bin/python3 -c 'import json,sys;print(len(json.load(sys.stdin)["entries"]))')
a1k=$($BIN/caravan --config $D/kz/caravand.toml --json audit | /usr/bin/python3 -c 'import json,sys;print(len(json.load(sys.stdin)["entries"]))')
$BIN/caravan --config $D/kz/caravand.toml peers list
$BIN/caravan --config $D/kz/caravand.toml --json peers list > $D/kz_peers.json
dials=$(grep -c "link: \|link up\|link handshake\|link down" $D/kz.log || true)
echo "window=${SECS}s kz_audit_rows=$((a1k-a0k)) uz_audit_rows=$((a1u-a0u))"
echo "kz log link lines: $(grep -c '^.*link ' $D/kz.log || true); uz log link lines: $(grep -c 'link ' $D/uz.log || true)"
echo "kz 'up' events: $(grep -c 'link up' $D/kz.log || true)  uz unknown_peer lines: $(grep -c 'unknown_peer' $D/uz.log || true)"
$BIN/caravan --config $D/uz/caravand.toml --json audit | /usr/bin/python3 -c 'import json,sys,collections;print("uz actions", collections.Counter(e["action"] for e in json.load(sys.stdin)["entries"]))'
$BIN/caravan --config $D/kz/caravand.toml --json audit | /usr/bin/python3 -c 'import json,sys,collections;print("kz actions", collections.Counter(e["action"] for e in json.load(sys.stdin)["entries"]))'
kill $U $K; wait $U $K 2>/dev/null || true
echo "dir: $D"
