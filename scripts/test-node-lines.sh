#!/usr/bin/env bash
# Run the test suite on the Node lines the README promises besides the default one:
# the `engines` minimum and the current LTS. The default line (Node 24, the `node`
# devDependency) is covered by `npm test`; lint, typecheck and build need only run
# once, so this script runs mocha alone, on a dist/ that `npm test` has built.
#
# Each line is installed as the npm `node` package into a temporary folder. mocha is
# started with that binary directly: an npm script would put node_modules/.bin (which
# holds the Node 24 binary) first on PATH, and child processes the tests fork would
# then run on Node 24. The temporary bin folder therefore goes first on PATH too.
#
# Usage: scripts/test-node-lines.sh [version ...]   (default: the lines below)
# Env:   NODE_LINES="22.15.0 26.10.0" overrides the default list.
set -euo pipefail
cd "$(dirname "$0")/.."

default_lines="22.15.1 26.10.0"
if [ "$#" -gt 0 ]; then lines="$*"; else lines="${NODE_LINES:-$default_lines}"; fi

if [ ! -f dist/src/index.js ]; then
  echo "test-node-lines: dist/ is not built; run 'npm run build' (or 'npm test') first" >&2
  exit 1
fi

tmp_root="$(mktemp -d)"
trap 'rm -rf "$tmp_root"' EXIT

failed=""
for version in $lines; do
  dir="$tmp_root/node-$version"
  mkdir -p "$dir"
  echo "test-node-lines: installing node@$version"
  # --no-save and an empty prefix: the project's package.json and lock are untouched.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$version" >/dev/null
  bin="$dir/node_modules/.bin"
  actual="$("$bin/node" -p 'process.versions.node')"
  if [ "$actual" != "$version" ]; then
    echo "test-node-lines: asked for node $version, the binary is $actual" >&2
    exit 1
  fi
  echo "test-node-lines: running the suite on node v$actual"
  start=$(date +%s)
  # .mocharc.json is read as usual (spec list, tsx loader, timeout).
  if PATH="$bin:$PATH" TEST_NODE_LINE="$actual" "$bin/node" node_modules/mocha/bin/mocha.js --reporter dot; then
    status=passed
  else
    status=FAILED
    failed="$failed $version"
  fi
  echo "test-node-lines: node v$actual $status in $(( $(date +%s) - start )) s"
done

if [ -n "$failed" ]; then
  echo "test-node-lines: the suite failed on node$failed" >&2
  exit 1
fi
echo "test-node-lines: the suite passed on node $lines"
