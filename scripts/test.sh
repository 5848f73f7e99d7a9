#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing, then runs
# the unit tests and the network-namespace tests (real wireguard-go, real
# packets), and ends with one line "N passed, N failed, N skipped".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
# Leftovers of a crashed earlier run would only confuse the tests.
bash "$ROOT/scripts/cleanup-lab.sh" >/dev/null 2>&1 || true
exec bash "$ROOT/scripts/run-tests.sh" all "$@"
