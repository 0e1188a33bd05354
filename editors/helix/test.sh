#!/usr/bin/env bash
# Runs the Helix client tests (tests/tests/e2e/helix_client.rs) against the real whetstone binary and
# ends with one line: "helix: N passed, N failed". Exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p whetstone-tests --test e2e helix_client:: 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

read -r passed failed < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^passed;?$/) passed += $(i-1)
      if ($i ~ /^failed;?$/) failed += $(i-1)
    }
  }
  END { print passed + 0, failed + 0 }' "$log")
# A build that fails runs no test at all: count it as a failure so the line cannot read clean.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "helix: $passed passed, $failed failed"
exit "$status"
