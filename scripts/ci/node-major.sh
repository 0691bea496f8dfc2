#!/usr/bin/env bash
# Run the test suite (or the test files matching the given substrings) on another Node.js major
# version, fetched from the npm registry with `npx -y node@MAJOR`:
#   scripts/ci/node-major.sh 24            # the whole suite on Node 24
#   scripts/ci/node-major.sh 22 cli.test   # the build and the CLI tests on Node 22
#   scripts/ci/node-major.sh 22 --build-only
# Other arguments go to scripts/test.mjs (--exclude=SUBSTRING, node's --test-* options).
# The repository is copied to a temporary folder so that the checkout's node_modules keep the
# native modules built for the Node that installed them. On a Node without the built-in node:sqlite
# (20), where Gatehouse loads better-sqlite3, that module is built against one
# Node ABI, so the copy gets its own build for MAJOR, from source (a C/C++ toolchain and Python,
# about two minutes) against the headers of the registry's node-<platform>-<arch> package of that
# exact version; the result is cached per ABI in ${GATEHOUSE_NATIVE_CACHE:-~/.cache/gatehouse/native}.
# argon2 ships N-API prebuilds, which every version loads. The TypeScript is compiled again by the
# same tsc, run by that Node.
set -euo pipefail
major="${1:?usage: scripts/ci/node-major.sh MAJOR [--build-only | test-file substrings...]}"
shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
started_all=$SECONDS

echo "== Node ${major}: fetching node@${major} from the npm registry"
node_bin="$(cd "${TMPDIR:-/tmp}" && npx -y "node@${major}" -p process.execPath)"
[[ -x "$node_bin" ]] || { echo "npx node@${major} gave no usable binary: ${node_bin}" >&2; exit 1; }
echo "== Node ${major}: $("$node_bin" --version) (${node_bin})"

work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-node${major}.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# the checkout without its build output (dist/ is rebuilt below) and without local data
tar -C "$root" --exclude=./dist --exclude=./.git --exclude='./data' --exclude='./examples/*/data' -cf - . | tar -C "$work" -xf -

if "$node_bin" -e "require('node:sqlite')" 2>/dev/null; then
  # Gatehouse opens SQLite with the built-in node:sqlite here: better-sqlite3 is never loaded
  echo "== Node ${major}: SQLite is built in (node:sqlite); better-sqlite3 is not needed"
else
  abi="$("$node_bin" -p process.versions.modules)"
  sqlite_version="$("$node_bin" -p "require('$work/node_modules/better-sqlite3/package.json').version")"
  cache="${GATEHOUSE_NATIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/native}/better-sqlite3-${sqlite_version}-abi${abi}-$(uname -s)-$(uname -m)"
  addon="$work/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
  if [[ -f "$cache/better_sqlite3.node" ]]; then
    echo "== Node ${major}: better-sqlite3 ${sqlite_version} for ABI ${abi} from ${cache}"
    mkdir -p "$(dirname "$addon")" && cp "$cache/better_sqlite3.node" "$addon"
  else
    echo "== Node ${major}: building better-sqlite3 ${sqlite_version} for ABI ${abi}"
    started=$SECONDS
    # node-gyp needs this version's headers: the registry's node-<platform>-<arch> package has them
    headers_pkg="node-$("$node_bin" -p 'process.platform + "-" + process.arch')@$("$node_bin" -p 'process.version.slice(1)')"
    mkdir -p "$work/.node-headers"
    (cd "$work/.node-headers" && npm pack "$headers_pkg" --silent >/dev/null && tar -xzf ./*.tgz package/include && rm -f ./*.tgz)
    (cd "$work" && PATH="$(dirname "$node_bin"):$PATH" npm_config_nodedir="$work/.node-headers/package" npm_config_build_from_source=true \
      npm rebuild better-sqlite3 --no-audit --no-fund >/dev/null 2> >(grep -v 'Unknown env config "build-from-source"' >&2))
    echo "== Node ${major}: built in $((SECONDS - started)) s"
    mkdir -p "$cache" && cp "$addon" "$cache/better_sqlite3.node"
  fi
  "$node_bin" -e "new (require('$work/node_modules/better-sqlite3'))(':memory:').close()"
fi
"$node_bin" -e "require('$work/node_modules/argon2')"

echo "== Node ${major}: tsc"
(cd "$work" && "$node_bin" node_modules/typescript/bin/tsc -p tsconfig.json)
for arg in "$@"; do
  if [[ "$arg" == "--build-only" ]]; then
    (cd "$work" && "$node_bin" bin/gatehouse.js --version)
    echo "== Node ${major}: built in $((SECONDS - started_all)) s"
    exit 0
  fi
done
echo "== Node ${major}: tests ${*:-(all)}"
cd "$work"
status=0
"$node_bin" scripts/test.mjs "$@" || status=$?
echo "== Node ${major}: done in $((SECONDS - started_all)) s (exit ${status})"
exit "$status"
