#!/usr/bin/env bash
# Checks the sandboxing of systemd/caravand.service: the exposure that
# `systemd-analyze security --offline=true` reports must be at most 2.0
# (DESIGN.md). Skips (exit 0, "skipped") where systemd-analyze is missing or
# too old for --offline (systemd < 250).
#
# Usage: systemd_security_test.sh [path/to/caravand.service]
set -euo pipefail

here="${BASH_SOURCE[0]%/*}"
unit="${1:-$here/../../systemd/caravand.service}"
max="2.0"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "skipped: systemd-analyze is not installed"
  exit 0
fi
if [ ! -f "$unit" ]; then
  echo "FAIL: unit file $unit not found" >&2
  exit 1
fi

# --offline=true reads the unit file instead of asking a running systemd.
if ! out="$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)"; then
  if grep -qiE "unrecognized option|unknown option" <<<"$out"; then
    echo "skipped: this systemd-analyze has no --offline"
    exit 0
  fi
  echo "FAIL: systemd-analyze security failed:" >&2
  echo "$out" >&2
  exit 1
fi

exposure="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out" | tail -n 1)"
if [ -z "$exposure" ]; then
  echo "FAIL: no exposure level in systemd-analyze output:" >&2
  echo "$out" >&2
  exit 1
fi

if awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }'; then
  echo "ok: exposure $exposure <= $max for $unit"
  exit 0
fi
echo "FAIL: exposure $exposure > $max for $unit; what costs most:" >&2
grep '✗' <<<"$out" >&2 || true
exit 1
