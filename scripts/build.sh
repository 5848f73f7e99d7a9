#!/usr/bin/env bash
# Bundles the CLI and daemon (src/ plus their npm dependencies) into one ESM
# file, build/gridmesh.mjs. Why a bundle: a daemon otherwise resolves and
# compiles ~1,000 modules at start, which was most of its start-up CPU
# (measured: ~1.1 s → ~0.55 s of CPU to "node running"); with ten daemons
# starting on two cores that is seconds of convergence. Types are checked by
# the test suite (tsc --noEmit), not here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rm -rf build
# Some dependencies are CommonJS and call require(): give the ESM bundle one.
"$ROOT/node_modules/.bin/esbuild" src/cli/main.ts --bundle --platform=node --format=esm --target=node24 \
  --outfile=build/gridmesh.mjs --log-level=warning \
  --banner:js="import { createRequire as __gridmeshRequire } from 'node:module'; const require = __gridmeshRequire(import.meta.url);"
# Fill V8's compile cache once here, so no daemon pays the compile at start (bin/gridmesh).
NODE_COMPILE_CACHE="$ROOT/build/compile-cache" "$ROOT/node_modules/.bin/node" build/gridmesh.mjs --help >/dev/null
touch build/.stamp
