#!/usr/bin/env bash
# Builds app.py into a Bottega plugin component: ./build.sh [OUT.wasm]
# (default OUT: this folder's name, with _ for -, .wasm)
#
# Needs python3 (3.10+) with venv, on Linux (flock, realpath -m, sha256sum). The pinned componentize-py (requirements.txt)
# is installed on first use into $BOTTEGA_TOOLCHAINS (default: .toolchains here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/$(basename "$here" | tr - _).wasm}")"
wit="$here/wit"
[ -d "$wit" ] || wit="$here/../../wit"
tools="${BOTTEGA_TOOLCHAINS:-$here/.toolchains}"
venv="$tools/python-$(sha256sum "$here/requirements.txt" | cut -c1-12)"

# One install at a time (several builds may share the toolchains folder); a
# venv cannot be moved, so an install that did not finish is started over.
mkdir -p "$tools"
exec 9>"$tools/.python.lock"
flock 9
if [ ! -e "$venv/.installed" ]; then
    echo "installing $(grep -v '^#' "$here/requirements.txt" | xargs) into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    touch "$venv/.installed"
fi
flock -u 9

mkdir -p "$(dirname "$out")"
cd "$here"
"$venv/bin/componentize-py" --wit-path "$wit" --world shop componentize app --output "$out"
