#!/usr/bin/env bash
# Tests the VS Code extension on a fresh machine: installs its node packages from the lock file,
# compiles and bundles it, builds the whetstone server, packages both .vsix files (the universal
# one, and the platform one carrying the server, as package.sh makes it), and runs node's test
# runner: the unit tests against the stand-in `vscode` module, the protocol test against the real
# server binary, and the tests in a real VS Code (test/real: the platform package in code-server,
# with no whetstone on PATH, driven in Debian's headless Chromium).
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

step "compile (tsc) and bundle (esbuild)"
npm run --silent build || give_up "build"

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

step "package (.vsix): universal, and for this platform with the server inside"
rm -f ./*.vsix
npm run --silent package || give_up "vsce package"
# package.sh builds a release binary, which would add minutes here; the platform package under
# test carries the debug binary built above instead, without its debug info (136 MB with it, and
# the tests never need it).
packaged_bin=$(mktemp)
trap 'rm -f "$packaged_bin"' EXIT
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug -o "$packaged_bin" "$WHETSTONE_BIN" || give_up "strip $WHETSTONE_BIN"
else
  cp "$WHETSTONE_BIN" "$packaged_bin"
fi
chmod 755 "$packaged_bin"
WHETSTONE_BIN="$packaged_bin" bash package.sh || give_up "package.sh"
ls -l ./*.vsix

step "real VS Code: code-server $(sed -n 's/.*"code-server": "\(.*\)".*/\1/p' test/real/package.json) and Chromium"
# What code-server's install needs from Debian: Kerberos headers for its native module, ripgrep
# (see below) and the browser. Installed when missing and we may (CI runs as root).
real_ok=1
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/krb5/krb5.h ] || missing+=(libkrb5-dev)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || real_ok=0
  else
    echo "vscode: missing Debian packages ${missing[*]} (apt-get install them)" >&2
    real_ok=0
  fi
fi
# The install is kept between runs: skipped while node_modules was installed from this very lock
# file by this node (about 2 minutes and 300 MB otherwise).
stamp=test/real/node_modules/.whetstone-installed
want="$(sha256sum test/real/package-lock.json | cut -d' ' -f1) node $(node --version)"
if [ "$real_ok" -eq 1 ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  started=$(date +%s)
  # code-server's VS Code depends on @vscode/ripgrep, whose install script downloads `rg` from
  # GitHub, which a closed machine cannot reach; it takes the archive from its cache folder when
  # one is there. Debian's ripgrep is the same rg 13.0.0, packed as that script expects it:
  # $TMPDIR/vscode-ripgrep-cache-<package version>/ripgrep-<release>-<target>.tar.gz with rg at
  # its top. The versions are those of code-server 4.100.3 (lib/postinstall.js of the package).
  ripgrep_package=1.15.11
  ripgrep_release=v13.0.0-10
  case "$(uname -m)" in
    x86_64) ripgrep_target=x86_64-unknown-linux-musl ;;
    aarch64) ripgrep_target=aarch64-unknown-linux-musl ;;
    *) ripgrep_target=unknown ;;
  esac
  install_tmp=$(mktemp -d)
  mkdir -p "$install_tmp/vscode-ripgrep-cache-$ripgrep_package" "$install_tmp/rg"
  cp "$(command -v rg)" "$install_tmp/rg/rg"
  tar -czf "$install_tmp/vscode-ripgrep-cache-$ripgrep_package/ripgrep-$ripgrep_release-$ripgrep_target.tar.gz" \
    -C "$install_tmp/rg" rg
  # nodedir: node-gyp builds against the installed node's headers instead of downloading them;
  # unsafe_perm: code-server's install script refuses to run as root without it; yes: a nested
  # `npx node-gyp` must not stop to ask.
  if (cd test/real && rm -rf node_modules &&
      TMPDIR="$install_tmp" npm_config_nodedir=/usr npm_config_unsafe_perm=true npm_config_yes=true \
        npm ci --no-audit --no-fund --loglevel=error); then
    echo "$want" >"$stamp"
    echo "code-server installed in $(($(date +%s) - started)) s"
  else
    echo "vscode: npm ci in test/real failed: the tests in a real VS Code cannot run" >&2
    real_ok=0
  fi
  rm -rf "$install_tmp"
elif [ "$real_ok" -eq 1 ]; then
  echo "code-server already installed from this lock file"
fi
real_tests=()
if [ "$real_ok" -eq 1 ]; then
  real_tests=(test/real/*.test.mjs)
  # The platform package (whetstone-<platform>-<version>.vsix): the one the real VS Code installs and runs with no whetstone on PATH.
  export WHETSTONE_VSIX
  WHETSTONE_VSIX="$(pwd)/$(ls ./whetstone-*-*.vsix | head -1)"
fi

step "tests (node --test)"
log=$(mktemp)
trap 'rm -f "$log" "$packaged_bin"' EXIT
status=0
node --test --test-reporter=tap test/*.test.mjs "${real_tests[@]}" 2>&1 | tee "$log" || status=$?

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
# The real VS Code tests could not even start: one failure.
if [ "$real_ok" -ne 1 ]; then
  failed=$((failed + 1))
fi
echo
echo "vscode: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
