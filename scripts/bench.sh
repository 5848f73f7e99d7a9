#!/usr/bin/env bash
# npm run bench [-- --quick | --n 4,8,12 | --reps 3 | --no-routing | --no-compute]
# Speed and memory of real daemons in lab hosts (network namespaces, root). Installs what is
# missing first, then runs bench/main.ts; results go to bench/results/. Ctrl-C tears the labs down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ $(id -u) -ne 0 ]]; then
  echo "bench: needs root (it creates network namespaces and WireGuard interfaces); run it as root" >&2
  exit 2
fi
bash scripts/setup.sh
exec "$ROOT/node_modules/.bin/node" --import tsx "$ROOT/bench/main.ts" "$@"
