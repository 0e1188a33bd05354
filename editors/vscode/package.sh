#!/usr/bin/env bash
# Packages the extension for this machine's platform with the whetstone server inside: builds the
# server (release), copies it to bin/, and runs `vsce package --target <platform>`, which writes
# whetstone-<platform>-<version>.vsix. The extension runs bin/whetstone unless whetstone.serverPath
# names another binary. bin/ is removed again afterwards, so that `npm run package` (the universal
# package, which finds the server on PATH) never carries a binary left over from here.
# Usage: editors/vscode/package.sh                       (after `npm ci`)
#        WHETSTONE_BIN=/path/to/whetstone editors/vscode/package.sh   (package that binary as it is)
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)

# vsce's platform names for the machines the server is built on natively. Cargo builds for the
# machine it runs on; another platform's package is made on that platform.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-x86_64) platform=darwin-x64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  *)
    echo "package.sh: no VS Code platform for $(uname -s) $(uname -m); package with \`npm run package\` and install the server with cargo" >&2
    exit 1
    ;;
esac
# Alpine's musl is a platform of its own in VS Code (alpine-x64), which a glibc build does not run on.
if [ "$(uname -s)" = Linux ] && ldd --version 2>&1 | grep -qi musl; then
  platform=alpine-${platform#linux-}
fi

if [ -z "${WHETSTONE_BIN:-}" ]; then
  (cd "$repo" && cargo build --locked --release -p whetstone --bin whetstone)
  # Cargo's target folder: CARGO_TARGET_DIR when set (relative to the repository), else target/.
  target_dir="${CARGO_TARGET_DIR:-$repo/target}"
  case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
  WHETSTONE_BIN="$target_dir/release/whetstone"
fi
[ -x "$WHETSTONE_BIN" ] || { echo "package.sh: no server binary at $WHETSTONE_BIN" >&2; exit 1; }

trap 'rm -rf bin' EXIT
rm -rf bin
mkdir bin
cp "$WHETSTONE_BIN" bin/whetstone
chmod 755 bin/whetstone
rm -f "whetstone-$platform-"*.vsix
npm run --silent package -- --target "$platform"
ls -l "whetstone-$platform-"*.vsix
