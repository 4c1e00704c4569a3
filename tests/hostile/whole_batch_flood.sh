#!/usr/bin/env bash
# Whole batches at their bounds from an authenticated member (issue 17
# follow-up; docs/wire.md 4.0): runs the integration test
# HostilePeerTest.WholeBatchFloodAtTheBoundsIsRefusedInBoundedMemory with
# ROUNDS rounds. Each round sends a running caravand four Records messages
# full of whole batches: 2 x 4096 tiny leaves under forged root signatures,
# 2 x 4096 leaves naming another origin under a genuine signature, 3500
# leaves with 3.5 KB descriptions (about 13 MiB, under the 16 MiB message
# limit) forged, and 4096 leaves of an origin outside the roster; then one
# batch of 4097 leaves (over the bound, which closes the link). It prints
# the daemon's VmHWM (peak RSS) before the flood (idle baseline, same run)
# and after it, and passes only if the daemon refused everything, stayed
# up, kept syncing an honest peer and grew by less than 512 MiB.
#
# Usage: tests/hostile/whole_batch_flood.sh [BUILD_DIR [ROUNDS]]
#   BUILD_DIR defaults to build (integration_test must be built there);
#   ROUNDS defaults to 5 (the ctest run uses 1).
set -euo pipefail
build="${1:-build}"
rounds="${2:-5}"
binary="$build/tests/integration/integration_test"
if [ ! -x "$binary" ]; then
  echo "whole_batch_flood: $binary not built (cmake --build $build --target integration_test)" >&2
  exit 2
fi
CARAVAN_WHOLE_BATCH_FLOOD_ROUNDS="$rounds" "$binary" \
  --gtest_filter='HostilePeerTest.WholeBatchFloodAtTheBoundsIsRefusedInBoundedMemory' |
  grep -E 'whole-batch flood|OK|FAILED|PASSED|Failure|KiB' 
