#!/usr/bin/env bash
# Tests the VS Code extension on a fresh machine: installs its node packages from the lock file,
# compiles it, packages the .vsix (proof that packaging works), builds the whetstone server, and
# runs node's test runner: the unit tests against the stand-in `vscode` module and the protocol
# test against the real server binary.
# Ends with one line, `vscode: N passed, N failed`; exits non-zero if anything failed.
# Usage: editors/vscode/test.sh          (WHETSTONE_BIN=/path/to/whetstone to test another binary)
set -uo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)

step() { printf '\n== vscode: %s\n' "$*"; }
# A step that fails counts as one failed test; the run stops there, since the later steps need it.
give_up() {
  echo "vscode: $1 failed" >&2
  echo "vscode: 0 passed, 1 failed"
  exit 1
}

step "node packages (npm ci)"
node --version
npm ci --no-audit --no-fund --loglevel=error || give_up "npm ci"

step "compile (tsc)"
npm run --silent build || give_up "tsc"

step "package (.vsix)"
rm -f ./*.vsix
# `npm run package` is vsce with --allow-missing-repository --skip-license: the extension lives
# in the whetstone repository and carries its licence in package.json, not in files of its own.
npm run --silent package || give_up "vsce package"
ls -l ./*.vsix

step "server binary"
# Cargo's target folder: CARGO_TARGET_DIR when set (relative to the repository), else target/.
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
export WHETSTONE_BIN="${WHETSTONE_BIN:-$target_dir/debug/whetstone}"
if command -v cargo >/dev/null 2>&1 && [ "$WHETSTONE_BIN" = "$target_dir/debug/whetstone" ]; then
  # A no-op when the binary is fresh; builds it when it is missing or older than the source.
  (cd "$repo" && cargo build -p whetstone) || give_up "cargo build -p whetstone"
fi
[ -x "$WHETSTONE_BIN" ] || give_up "no server binary at $WHETSTONE_BIN"

step "tests (node --test)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
node --test --test-reporter=tap test/*.test.mjs 2>&1 | tee "$log" || status=$?

passed=$(awk '/^# pass [0-9]+$/ { print $3 }' "$log")
failed=$(awk '/^# fail [0-9]+$/ { print $3 }' "$log")
if [ -z "$passed" ] || [ -z "$failed" ]; then
  # The runner died before its summary.
  passed=${passed:-0}
  failed=$((${failed:-0} + 1))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo
echo "vscode: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
