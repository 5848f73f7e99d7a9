#!/usr/bin/env bash
# Runs one suite (unit | netns | all) with the project's Node runtime.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$ROOT/node_modules/.bin/node" --import tsx "$ROOT/scripts/run-tests.ts" "$@"
