# shellcheck shell=bash
# shellcheck disable=SC2034  # the paths below are for the caller
# Helpers shared by the end-to-end benchmarks of tests/bench/e2e (sourced,
# not run): node life cycle and reads through the `caravan` CLI, so every
# benchmark drives real daemons the way an operator does.
#
# The caller sets `build` (a Release tree) and `tmp` (its scratch dir, one
# subdirectory per node) before sourcing, and defines `cc NODE` (the node's
# country) if it uses `add`. Nodes are named by one word (A, B, ...): the
# node's directory is $tmp/NODE and its name CERT-NODE.
: "${build:?set build before sourcing lib.sh}" "${tmp:?set tmp before sourcing lib.sh}"

caravan="$build/tools/caravan"
caravand="$build/daemon/caravand"
raw_insert="$build/tests/bench/raw_insert"
query_latency="$build/tests/bench/query_latency"
crypto_bench="$build/tests/bench/crypto_bench"
declare -A pid port

require() {  # BINARY...: every one built, or exit naming the first missing
  for b in "$@"; do
    [ -x "$b" ] || { echo "$(basename "$0"): missing $b (build it first)" >&2; exit 1; }
  done
}
now() { date +%s.%N; }
cv() { local x=$1; shift; "$caravan" --config "$tmp/$x/caravand.toml" "$@"; }
free_port() {
  /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
init_node() {  # NODE COUNTRY: `caravan init` listening on a free loopback port
  port[$1]=$(free_port)
  "$caravan" init "$tmp/$1" --name "CERT-$1" --country "$2" \
    --peer-listen "127.0.0.1:${port[$1]}" >/dev/null
  # A peer that was down is redialled within a second, not minutes.
  sed -i 's/^dial_backoff_max = .*/dial_backoff_max = "1s"/' "$tmp/$1/caravand.toml"
}
start() {  # NODE: run caravand in the background, wait until it answers
  "$caravand" --config "$tmp/$1/caravand.toml" >>"$tmp/$1.log" 2>&1 &
  pid[$1]=$!
  for _ in $(seq 1 300); do cv "$1" status >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "caravand $1 did not start" >&2; cat "$tmp/$1.log" >&2; exit 1
}
stop() {  # NODE: SIGTERM (a clean shutdown, the store checkpointed) and wait
  kill -TERM "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null || true; unset "pid[$1]"
}
stop_all() {
  for k in "${!pid[@]}"; do kill -TERM "${pid[$k]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
count() {  # NODE: indicators it holds
  cv "$1" --json status | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["indicators"])'
}
key() { cv "$1" --json key show | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])'; }
peer_bytes() {  # NODE PEER: bytes sent + received on NODE's link to CERT-PEER
  cv "$1" --json status | /usr/bin/python3 -c "import json,sys
for p in json.load(sys.stdin)['peers']:
  if p['name']=='CERT-$2': print(p['bytes_sent']+p['bytes_received'])"
}
wait_count() {  # NODE TARGET: until NODE holds TARGET
  while [ "$(count "$1")" -lt "$2" ]; do sleep 0.2; done
}
add() {  # NODE OTHER [DIAL]: NODE learns CERT-OTHER (and dials it unless DIAL=0)
  local ep=(); [ "${3:-1}" = 1 ] && ep=(--endpoint "127.0.0.1:${port[$2]}")
  cv "$1" peers add "CERT-$2" --country "$(cc "$2")" --key "$(key "$2")" "${ep[@]}" >/dev/null
}
link_ready() {  # NODE OTHER: the link is up and NODE has nothing queued for it
  cv "$1" --json status | /usr/bin/python3 -c "import json,sys
sys.exit(0 if any(p['name']=='CERT-$2' and p['link']=='up' and p['backlog']==0 for p in json.load(sys.stdin)['peers']) else 1)"
}
# FROM TO SAMPLES OUT: SAMPLES times, submit a new IPv4 (172.16.x.y) at
# FROM, then query it at TO until it is there; one line per sample to OUT:
# "submit start, submit return, start of the query that found it, found"
# (seconds). The one-hop latency of scale_bench.sh and hop_latency.sh.
hop_samples() {
  : >"$4"
  local i v t0 ts tq t1
  for i in $(seq 1 "$3"); do
    v="172.16.$((i / 256)).$((i % 256))"
    t0=$(now)
    cv "$1" submit ipv4 "$v" --tlp green >/dev/null
    ts=$(now)
    while :; do
      tq=$(now)
      cv "$2" query "$v" >/dev/null 2>&1 && break
    done
    t1=$(now)
    echo "$t0 $ts $tq $t1" >>"$4"
  done
}
# SENDER PEER: how far CERT-PEER has acknowledged (verified and committed)
# SENDER's log, from SENDER's `peers list`. The catch-up's probe: `status`
# counts the store (a scan, ~45 ms at 1M and ten times that at 10M), and
# counting the receiver every 0.2 s took a fifth of a core from the
# catch-up it measured (scale_bench.sh, catchup_ab.sh). Parsed in bash
# (sed), not Python, for the same reason.
acked() {
  local a
  a=$(cv "$1" --json peers list | sed 's/},{/}\n{/g' |
    sed -n "/\"name\":\"CERT-$2\"/s/.*\"acked_seq\":\([0-9]*\).*/\1/p")
  if [ -z "$a" ]; then
    echo "$(basename "$0"): no acked_seq for CERT-$2 in $1's peers list" >&2
    return 1
  fi
  echo "$a"
}
log_seq() {  # NODE: the last entry of its log
  cv "$1" --json status | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["log_seq"])'
}
rss_kib() {  # NODE: resident set of its caravand, KiB
  awk '/^VmRSS/ {print $2}' "/proc/${pid[$1]}/status"
}
rate_of() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$1"; }
# The single-core Ed25519 verify rate (crypto_bench BM_VerifyRawBaseline),
# the fastest of 5 runs: neighbours on a shared machine only ever slow a
# run down, and the fastest rate is the hardest baseline to beat.
verify_rate() {
  "$crypto_bench" --benchmark_filter='BM_VerifyRawBaseline$' \
    --benchmark_format=json --benchmark_min_time=0.5 \
    --benchmark_repetitions=5 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys
runs=[b for b in json.load(sys.stdin)["benchmarks"] if b.get("run_type")=="iteration"]
print(round(1e9/min(b["cpu_time"] * {"ns":1,"us":1e3,"ms":1e6}[b["time_unit"]] for b in runs)))'
}
