#!/usr/bin/env bash
# Builds the module package.json names as "main" into a Bottega plugin
# component: ./build.sh [OUT.wasm] (default OUT: this folder's name, with _
# for -, .wasm)
#
# Needs Node.js 18+ and npm. The pinned ComponentizeJS (package.json and
# package-lock.json) is installed with `npm ci` on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/$(basename "$here" | tr - _).wasm}")"
cd "$here"
if [ ! -d node_modules/@bytecodealliance/componentize-js ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p "$(dirname "$out")"
node build.mjs "$out"
