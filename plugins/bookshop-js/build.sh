#!/usr/bin/env bash
# Builds the module package.json names as "main" into a Bottega plugin
# component: ./build.sh [OUT.wasm] (default OUT: this folder's name, with _
# for -, .wasm)
#
# Needs Node.js 18+ and npm, on Linux (flock, realpath -m, sha256sum). The pinned
# ComponentizeJS (package.json and package-lock.json) is installed with `npm ci`
# into node_modules here, again whenever the lockfile changes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/$(basename "$here" | tr - _).wasm}")"
cd "$here"
# One install at a time: `npm ci` empties node_modules first.
exec 9>"$here/.npm.lock"
flock 9
wanted="$(sha256sum package-lock.json | cut -c1-64)"
if [ "$(cat node_modules/.installed-lock 2>/dev/null)" != "$wanted" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$wanted" > node_modules/.installed-lock
fi
flock -u 9
mkdir -p "$(dirname "$out")"
node build.mjs "$out"
